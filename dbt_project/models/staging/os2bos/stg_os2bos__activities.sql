with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_activity'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                  as activity_id,
        appropriation_id,
        details_id                          as activity_details_id,
        status                              as activity_status,
        activity_type,
        start_date,
        end_date,
        appropriation_date,
        approval_level_id,
        {{ nullif_blank('approval_note') }} as approval_note,
        approval_user_id                    as approved_by_user_id,
        modifies_id                         as modifies_activity_id,
        service_provider_id,
        {{ nullif_blank('note') }}          as note,
        created                             as created_at,
        modified                            as modified_at,
        user_created                        as created_by,
        user_modified                       as modified_by
    from source

)

select * from renamed
