-- One row per required case-processing step instance, with its due date from the jurisdiction's rule in
-- seed `deadline_rules` (joined, not hard-coded). A step instance starts at an event of the rule's
-- start_event_type and is done by the first event of its done_event_type linked to it:
--   notification_assessed    notification_received  <- notification_assessed (related_event_id = the notification)
--   decision_to_investigate  notification_received  <- investigation_started of its assessment when assessed
--                                                       'investigate', else the assessment itself (decided: none)
--   investigation_finished   investigation_started  <- investigation_finished (related = the start)
--   plan_after_decision      decision_made (DK) / decision_executed (SE)  <- plan_created (related = the decision)
--   follow_up                a chain per decision: the first due from decision_made (DK) / decision_executed
--                            (SE), each later one from the previous follow_up_held (the rule's repeat interval);
--                            after the last held follow-up the next one is an open instance
--   decision_executed        decision_made          <- decision_executed (related = the decision)
--   immediate_effort_closed  immediate_effort_started <- the first case_closed of the same case after it
-- Only granted decisions start decision steps; rules with applies_to = 'placement' only apply to decisions
-- on staircase step 4-6. A jurisdiction without a rule for a step has no instances of it.
-- Due: start + N hours for hour rules (due_at exact); for day, week and month rules the due date is the
-- start's (UTC) date + N and the step is on time until the end of that day (due_at = 24:00 of due_date).
-- Materialised as a table: its data tests and fct_case_steps would each recompute the event joins.
-- On PostgreSQL the planner estimates one row for most of the filtered event CTEs below and joins them by
-- nested loops: 14 minutes and more on the small sample instead of 0.1 s. Nested loops are switched off
-- for this model's transaction only (`set local`).
{{ config(
    materialized='table',
    pre_hook=["set local enable_nestloop = off"] if target.type == 'postgres' else [],
) }}

with

events as (

    select * from {{ ref('stg_case_events__events') }}

),

rules as (

    select * from {{ ref('deadline_rules') }}

),

notifications as (

    select * from events where event_type = 'notification_received'

),

first_assessments as (

    select *
    from (
        select
            events.*,
            row_number() over (partition by related_event_id order by occurred_at, event_id) as link_rank
        from events
        where event_type = 'notification_assessed' and related_event_id is not null
    ) as ranked
    where link_rank = 1

),

investigation_starts as (

    select * from events where event_type = 'investigation_started'

),

first_starts_per_assessment as (

    select *
    from (
        select
            investigation_starts.*,
            row_number() over (partition by related_event_id order by occurred_at, event_id) as link_rank
        from investigation_starts
        where related_event_id is not null
    ) as ranked
    where link_rank = 1

),

first_finishes as (

    select *
    from (
        select
            events.*,
            row_number() over (partition by related_event_id order by occurred_at, event_id) as link_rank
        from events
        where event_type = 'investigation_finished' and related_event_id is not null
    ) as ranked
    where link_rank = 1

),

decisions as (

    select * from events where event_type = 'decision_made' and outcome = 'granted'

),

-- Events that refer to a decision, the first of each type per decision.
first_decision_links as (

    select *
    from (
        select
            events.*,
            row_number() over (
                partition by event_type, related_event_id order by occurred_at, event_id
            ) as link_rank
        from events
        where event_type in ('decision_executed', 'plan_created') and related_event_id is not null
    ) as ranked
    where link_rank = 1

),

non_execution_reports as (

    select distinct related_event_id as decision_event_id
    from events
    where event_type = 'non_execution_reported' and related_event_id is not null

),

-- The events a decision's steps can count from: the decision itself and its execution.
decision_anchors as (

    select
        decisions.event_id          as decision_event_id,
        'decision_made'             as anchor_event_type,
        decisions.event_id          as anchor_event_id,
        decisions.occurred_at       as anchor_at
    from decisions

    union all

    select
        decisions.event_id,
        'decision_executed',
        executions.event_id,
        executions.occurred_at
    from decisions
    inner join first_decision_links as executions
        on executions.related_event_id = decisions.event_id
        and executions.event_type = 'decision_executed'

),

follow_ups as (

    select
        events.*,
        row_number() over (partition by related_event_id order by occurred_at, event_id)           as follow_up_sequence,
        row_number() over (partition by related_event_id order by occurred_at desc, event_id desc) as reverse_sequence
    from events
    where event_type = 'follow_up_held' and related_event_id is not null

),

-- Every held follow-up (counted from the previous one, if any), plus the next one not yet held.
follow_up_links as (

    select
        follow_ups.related_event_id                                         as decision_event_id,
        follow_ups.follow_up_sequence,
        lag(follow_ups.event_id) over (
            partition by follow_ups.related_event_id order by follow_ups.follow_up_sequence
        )                                                                   as previous_event_id,
        lag(follow_ups.occurred_at) over (
            partition by follow_ups.related_event_id order by follow_ups.follow_up_sequence
        )                                                                   as previous_at,
        follow_ups.event_id                                                 as done_event_id
    from follow_ups

    union all

    select
        decisions.event_id,
        coalesce(last_follow_ups.follow_up_sequence, 0) + 1,
        last_follow_ups.event_id,
        last_follow_ups.occurred_at,
        cast(null as {{ dbt.type_string() }})
    from decisions
    left join follow_ups as last_follow_ups
        on last_follow_ups.related_event_id = decisions.event_id
        and last_follow_ups.reverse_sequence = 1

),

first_closures_after_effort as (

    select *
    from (
        select
            efforts.event_id                                                as effort_event_id,
            closures.event_id,
            row_number() over (
                partition by efforts.event_id order by closures.occurred_at, closures.event_id
            )                                                               as link_rank
        from events as efforts
        inner join events as closures
            on closures.case_reference = efforts.case_reference
            and closures.event_type = 'case_closed'
            and closures.occurred_at >= efforts.occurred_at
        where efforts.event_type = 'immediate_effort_started'
    ) as ranked
    where link_rank = 1

),

-- Step candidates: (process step, start event type, start event, done event, counted from a repeat?).
candidates as (

    select
        'notification_assessed'                 as process_step,
        'notification_received'                 as start_event_type,
        notifications.event_id                  as start_event_id,
        assessments.event_id                    as done_event_id,
        cast(null as {{ dbt.type_string() }})   as decision_event_id,
        cast(null as {{ dbt.type_int() }})      as follow_up_sequence,
        false                                   as uses_repeat_interval
    from notifications
    left join first_assessments as assessments
        on assessments.related_event_id = notifications.event_id

    union all

    select
        'decision_to_investigate',
        'notification_received',
        notifications.event_id,
        case
            when assessments.outcome = 'investigate' then investigations.event_id
            else assessments.event_id
        end,
        null,
        null,
        false
    from notifications
    left join first_assessments as assessments
        on assessments.related_event_id = notifications.event_id
    left join first_starts_per_assessment as investigations
        on investigations.related_event_id = assessments.event_id

    union all

    select
        'investigation_finished',
        'investigation_started',
        investigation_starts.event_id,
        finishes.event_id,
        null,
        null,
        false
    from investigation_starts
    left join first_finishes as finishes
        on finishes.related_event_id = investigation_starts.event_id

    union all

    select
        'plan_after_decision',
        decision_anchors.anchor_event_type,
        decision_anchors.anchor_event_id,
        plans.event_id,
        decision_anchors.decision_event_id,
        null,
        false
    from decision_anchors
    left join first_decision_links as plans
        on plans.related_event_id = decision_anchors.decision_event_id
        and plans.event_type = 'plan_created'

    union all

    select
        'follow_up',
        decision_anchors.anchor_event_type,
        coalesce(follow_up_links.previous_event_id, decision_anchors.anchor_event_id),
        follow_up_links.done_event_id,
        decision_anchors.decision_event_id,
        follow_up_links.follow_up_sequence,
        follow_up_links.previous_event_id is not null
    from decision_anchors
    inner join follow_up_links
        on follow_up_links.decision_event_id = decision_anchors.decision_event_id

    union all

    select
        'decision_executed',
        'decision_made',
        decisions.event_id,
        executions.event_id,
        decisions.event_id,
        null,
        false
    from decisions
    left join first_decision_links as executions
        on executions.related_event_id = decisions.event_id
        and executions.event_type = 'decision_executed'

    union all

    select
        'immediate_effort_closed',
        'immediate_effort_started',
        efforts.event_id,
        closures.event_id,
        null,
        null,
        false
    from events as efforts
    left join first_closures_after_effort as closures
        on closures.effort_event_id = efforts.event_id
    where efforts.event_type = 'immediate_effort_started'

),

with_rules as (

    select
        candidates.process_step,
        rules.process_step_label,
        starts.jurisdiction,
        starts.case_reference,
        starts.person_id,
        starts.municipality_code,
        coalesce(done.caseworker, starts.caseworker)                        as caseworker,
        coalesce(done.team_code, starts.team_code)                          as team_code,
        candidates.start_event_type,
        candidates.start_event_id,
        starts.occurred_at                                                  as started_at,
        candidates.done_event_id,
        done.occurred_at                                                    as done_at,
        candidates.decision_event_id,
        decisions.staircase_step                                            as decision_staircase_step,
        candidates.follow_up_sequence,
        candidates.uses_repeat_interval,
        case
            when candidates.process_step = 'decision_executed'
                then reports.decision_event_id is not null
        end                                                                 as non_execution_reported,
        case when candidates.uses_repeat_interval then rules.repeat_every_value else rules.deadline_value end
                                                                            as deadline_value,
        case when candidates.uses_repeat_interval then rules.repeat_every_unit else rules.deadline_unit end
                                                                            as deadline_unit,
        rules.legal_reference,
        rules.is_local_rule
    from candidates
    inner join events as starts
        on starts.event_id = candidates.start_event_id
    left join events as done
        on done.event_id = candidates.done_event_id
    left join decisions
        on decisions.event_id = candidates.decision_event_id
    left join non_execution_reports as reports
        on reports.decision_event_id = candidates.decision_event_id
    inner join rules
        on rules.jurisdiction = starts.jurisdiction
        and rules.process_step = candidates.process_step
        and rules.start_event_type = candidates.start_event_type
    where rules.applies_to = 'all'
       or (rules.applies_to = 'placement' and decisions.staircase_step >= 4)

),

with_due_dates as (

    select
        with_rules.*,
        case deadline_unit
            when 'hour'  then cast({{ dbt.dateadd('hour', 'deadline_value', 'started_at') }} as date)
            when 'day'   then cast({{ dbt.dateadd('day', 'deadline_value', 'cast(started_at as date)') }} as date)
            when 'week'  then cast({{ dbt.dateadd('day', '7 * deadline_value', 'cast(started_at as date)') }} as date)
            when 'month' then cast({{ dbt.dateadd('month', 'deadline_value', 'cast(started_at as date)') }} as date)
        end                                                                 as due_date
    from with_rules

),

final as (

    select
        {{ dbt.concat(["process_step", "'|'", "start_event_id"]) }}         as step_instance_key,
        process_step,
        process_step_label,
        jurisdiction,
        case_reference,
        person_id,
        municipality_code,
        caseworker,
        team_code,
        start_event_type,
        start_event_id,
        started_at,
        done_event_id,
        done_at,
        decision_event_id,
        decision_staircase_step,
        follow_up_sequence,
        uses_repeat_interval,
        non_execution_reported,
        deadline_value,
        deadline_unit,
        legal_reference,
        is_local_rule,
        due_date,
        case
            when deadline_unit = 'hour'
                then cast({{ dbt.dateadd('hour', 'deadline_value', 'started_at') }} as {{ dbt.type_timestamp() }})
            else cast({{ dbt.dateadd('day', 1, 'due_date') }} as {{ dbt.type_timestamp() }})
        end                                                                 as due_at
    from with_due_dates

)

select * from final
