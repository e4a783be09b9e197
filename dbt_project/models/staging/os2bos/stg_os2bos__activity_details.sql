with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_activitydetails'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                        as activity_details_id,
        activity_id                               as activity_code,
        name                                      as activity_details_name,
        {{ nullif_blank('description') }}         as activity_details_description,
        cast(max_tolerance_in_percent as integer) as max_tolerance_percent,
        cast(max_tolerance_in_dkk as integer)     as max_tolerance_dkk,
        active                                    as is_active
    from source

)

select * from renamed
