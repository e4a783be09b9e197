with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_historicalcase'), 'history_id', unique_in_raw=true) }}

),

renamed as (

    select
        history_id                               as case_history_id,
        id                                       as case_id,
        history_date                             as valid_from_at,
        history_type,
        {{ nullif_blank('history_change_reason') }} as history_change_reason,
        history_user_id,
        case_worker_id                           as case_worker_user_id,
        acting_municipality_id,
        effort_step_id,
        cast(scaling_step as integer)            as scaling_step,
        {{ nullif_blank('assessment_comment') }} as assessment_comment,
        created                                  as created_at,
        modified                                 as modified_at
    from source

)

select * from renamed
