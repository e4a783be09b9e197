with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_rate'), 'variablerate_ptr_id', unique_in_raw=true) }}

),

renamed as (

    select
        variablerate_ptr_id               as rate_id,
        name                              as rate_name,
        {{ nullif_blank('description') }} as rate_description,
        needs_recalculation               as is_recalculation_needed,
        active                            as is_active
    from source

)

select * from renamed
