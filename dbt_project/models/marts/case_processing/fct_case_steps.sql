-- Case-processing deadlines: one row per required step instance (int_case_step_instances), with its
-- status as of the end of the reference date (reference_date()). Events after that moment are treated as
-- not yet happened. A case's closure ends its open decision and investigation steps (not the notification
-- steps, and it completes an immediate effort): a step not done when its case closed before its due date
-- was no longer required (no row); one whose due date passed while the case was open is
-- 'not_done_case_closed'. client_id is the OS2bos case's client (case_reference = core_case.sbsys_id),
-- else the event's own person_id (the same keyed pseudonym).

{% set near_deadline_days = var('case_steps_near_deadline_days', 14) %}

with

as_of as (

    select
        {{ reference_date() }}                                                              as reference_date,
        cast({{ dbt.dateadd('day', 1, reference_date()) }} as {{ dbt.type_timestamp() }})  as as_of_at

),

steps as (

    select
        steps.*,
        as_of.reference_date,
        as_of.as_of_at
    from {{ ref('int_case_step_instances') }} as steps
    cross join as_of
    where steps.started_at < as_of.as_of_at

),

closures as (

    select case_reference, occurred_at as closed_at
    from {{ ref('stg_case_events__events') }}
    where event_type = 'case_closed'

),

-- The first closure of the step's case at or after its start, for the steps a closure ends.
step_closures as (

    select
        steps.step_instance_key,
        min(closures.closed_at) as case_closed_at
    from steps
    inner join closures
        on closures.case_reference = steps.case_reference
        and closures.closed_at >= steps.started_at
        and closures.closed_at < steps.as_of_at
    where steps.process_step not in ('notification_assessed', 'decision_to_investigate', 'immediate_effort_closed')
    group by steps.step_instance_key

),

cases as (

    select sbsys_id, client_id
    from {{ ref('stg_os2bos__cases') }}
    where sbsys_id is not null

),

as_of_state as (

    select
        steps.*,
        case when steps.done_at < steps.as_of_at then steps.done_at end            as done_at_as_of,
        case when steps.done_at < steps.as_of_at then steps.done_event_id end      as done_event_id_as_of,
        step_closures.case_closed_at
    from steps
    left join step_closures
        on step_closures.step_instance_key = steps.step_instance_key

),

classified as (

    select
        as_of_state.*,
        case
            when done_at_as_of is not null and done_at_as_of <= due_at then 'done_on_time'
            when done_at_as_of is not null then 'done_late'
            when case_closed_at is not null then 'not_done_case_closed'
            when due_at < as_of_at then 'open_overdue'
            else 'open_within_deadline'
        end as step_status,
        -- the moment lateness is measured to
        case
            when done_at_as_of is not null then done_at_as_of
            when case_closed_at is not null then case_closed_at
            else as_of_at
        end as measured_at
    from as_of_state
    where not (done_at_as_of is null and case_closed_at is not null and case_closed_at <= due_at)

),

final as (

    select
        classified.step_instance_key,
        classified.process_step,
        classified.process_step_label,
        classified.jurisdiction,
        coalesce(cases.client_id, classified.person_id)                        as client_id,
        classified.case_reference,
        classified.caseworker,
        classified.team_code,
        classified.municipality_code,
        classified.start_event_type,
        classified.start_event_id,
        classified.started_at,
        classified.deadline_value,
        classified.deadline_unit,
        classified.uses_repeat_interval,
        classified.legal_reference,
        classified.is_local_rule,
        classified.due_date,
        classified.due_at,
        classified.done_event_id_as_of                                         as done_event_id,
        classified.done_at_as_of                                               as done_at,
        cast(classified.done_at_as_of as date)                                 as done_date,
        classified.case_closed_at,
        classified.follow_up_sequence,
        classified.decision_event_id,
        classified.decision_staircase_step,
        classified.non_execution_reported,
        classified.step_status,
        classified.step_status in ('done_on_time', 'done_late')                as is_done,
        case
            when classified.step_status in ('done_on_time', 'done_late')
                then classified.step_status = 'done_on_time'
        end                                                                    as on_time,
        classified.step_status in ('done_late', 'open_overdue', 'not_done_case_closed')
                                                                               as is_deadline_missed,
        -- whole days (started 24-hour periods) past due_at, to the done moment, the closure or the end of
        -- the reference date; 0 when not late
        case
            when classified.measured_at > classified.due_at
                then cast(ceiling({{ dbt.datediff('classified.due_at', 'classified.measured_at', 'second') }} / 86400.0)
                          as {{ dbt.type_int() }})
            else 0
        end                                                                    as days_late,
        case
            when classified.step_status in ('open_within_deadline', 'open_overdue')
                then {{ dbt.datediff('classified.reference_date', 'classified.due_date', 'day') }}
        end                                                                    as days_to_deadline,
        classified.step_status = 'open_within_deadline'
            and {{ dbt.datediff('classified.reference_date', 'classified.due_date', 'day') }} <= {{ near_deadline_days }}
                                                                               as is_open_near_deadline,
        classified.reference_date
    from classified
    left join cases
        on cases.sbsys_id = classified.case_reference

)

select * from final
