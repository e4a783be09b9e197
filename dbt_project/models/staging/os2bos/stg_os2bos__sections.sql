with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_section'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                  as section_id,
        paragraph,
        {{ nullif_blank('text') }}          as section_text,
        {{ nullif_blank('law_text_name') }} as law_text_name,
        {{ nullif_blank('dst_code') }}      as dst_code,
        dst_preventative_measures           as is_dst_preventative_measure,
        dst_handicap                        as is_dst_handicap,
        active                              as is_active
    from source

)

select * from renamed
