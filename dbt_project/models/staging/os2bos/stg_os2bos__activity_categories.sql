with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_activitycategory'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id          as activity_category_id,
        category_id as activity_category_code,
        name        as activity_category_name,
        active      as is_active
    from source

)

select * from renamed
