with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_approvallevel'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id     as approval_level_id,
        name   as approval_level_name,
        active as is_active
    from source

)

select * from renamed
