with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_effort'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                as effort_id,
        name                              as effort_name,
        {{ nullif_blank('description') }} as effort_description,
        active                            as is_active
    from source

)

select * from renamed
