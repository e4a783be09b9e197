with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_historicalrateperdate'), 'history_id', unique_in_raw=true) }}

),

renamed as (

    select
        history_id                  as rate_period_history_id,
        id                          as rate_period_id,
        history_date                as changed_at,
        history_type,
        history_user_id,
        main_rate_id                as variable_rate_id,
        {{ cast_money('rate') }}    as rate_dkk,
        start_date                  as valid_from,
        end_date                    as valid_to
    from source

)

select * from renamed
