with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_case'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                       as case_id,
        person_id                                as client_id,
        pseudonym_key_version,
        birth_date,
        sex,
        {{ nullif_blank('sbsys_id') }}           as sbsys_id,
        case_worker_id                           as case_worker_user_id,
        district_id                              as school_district_id,
        paying_municipality_id,
        acting_municipality_id,
        residence_municipality_id,
        target_group_id,
        effort_step_id,
        cast(scaling_step as integer)            as scaling_step,
        {{ nullif_blank('assessment_comment') }} as assessment_comment,
        {{ nullif_blank('note') }}               as note,
        created                                  as created_at,
        modified                                 as modified_at,
        user_created                             as created_by,
        user_modified                            as modified_by
    from source

)

select * from renamed
