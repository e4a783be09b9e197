with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_targetgroup'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                             as target_group_id,
        name                                           as target_group_name,
        {{ nullif_blank('required_fields_for_case') }} as required_fields_for_case,
        active                                         as is_active
    from source

)

select * from renamed
