with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_appropriation'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                             as appropriation_id,
        case_id,
        section_id,
        {{ nullif_blank('sbsys_id') }} as sbsys_id,
        {{ nullif_blank('note') }}     as note,
        created                        as created_at,
        modified                       as modified_at,
        user_created                   as created_by,
        user_modified                  as modified_by
    from source

)

select * from renamed
