with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_effortstep'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                      as effort_step_id,
        name                    as effort_step_name,
        cast(number as integer) as effort_step_number,
        active                  as is_active
    from source

)

select * from renamed
