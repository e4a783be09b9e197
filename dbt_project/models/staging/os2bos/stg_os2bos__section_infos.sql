with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_sectioninfo'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                                               as section_info_id,
        activity_details_id,
        section_id,
        activity_category_id,
        {{ nullif_blank('kle_number') }}                                 as kle_number,
        {{ nullif_blank('sbsys_template_id') }}                          as sbsys_template_id,
        {{ nullif_blank('main_activity_main_account_number') }}          as main_activity_main_account_number,
        {{ nullif_blank('supplementary_activity_main_account_number') }} as supplementary_activity_main_account_number,
        active                                                           as is_active
    from source

)

select * from renamed
