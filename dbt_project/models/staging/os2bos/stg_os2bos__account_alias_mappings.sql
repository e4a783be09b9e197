with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_accountaliasmapping'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                  as account_alias_mapping_id,
        main_account_number,
        activity_number     as activity_code,
        alias               as account_alias
    from source

)

select * from renamed
