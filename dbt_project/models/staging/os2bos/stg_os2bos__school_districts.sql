with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_schooldistrict'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id     as school_district_id,
        name   as school_district_name,
        active as is_active
    from source

)

select * from renamed
