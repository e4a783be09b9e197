with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_relatedperson'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                               as related_person_id,
        main_case_id                     as case_id,
        person_id                        as related_person_pseudonym,
        pseudonym_key_version,
        birth_date,
        sex,
        relation_type,
        {{ nullif_blank('related_case') }} as related_case,
        from_serviceplatformen           as is_from_serviceplatformen,
        created                          as created_at,
        modified                         as modified_at,
        user_created                     as created_by,
        user_modified                    as modified_by
    from source

)

select * from renamed
