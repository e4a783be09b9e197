with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_rateperdate'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                          as rate_period_id,
        main_rate_id                as variable_rate_id,
        {{ cast_money('rate') }}    as rate_dkk,
        start_date                  as valid_from,
        end_date                    as valid_to,
        changed_date                as changed_at,
        changed_by_id               as changed_by_user_id
    from source

)

select * from renamed
