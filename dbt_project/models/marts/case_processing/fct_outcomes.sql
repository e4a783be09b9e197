-- Effect: one row per outcome assessment (outcome_assessed event) of a case, with the movement on the
-- intervention staircase (1-6, down is better) and the scaling step (1-10, up is better) against the case's
-- baseline (its first assessment, normally registered at the decision) and against the previous assessment,
-- goal_reached, the case's closure and whether the child returned to services within 12 months
-- (int_case_closures), and the intervention and provider of the case at the assessment.
-- Intervention link rule: the case (case_reference = OS2bos core_case.sbsys_id) -> its appropriations'
-- GRANTED main activities (activity_type MAIN_ACTIVITY); the one with the latest start date on or before the
-- assessment date, else (help not started yet) the one starting first after it.

with

assessments as (

    select
        events.*,
        row_number() over (partition by case_reference order by occurred_at, event_id) - 1   as assessment_sequence,
        row_number() over (partition by case_reference order by occurred_at desc, event_id desc) as reverse_sequence
    from {{ ref('stg_case_events__events') }} as events
    where events.event_type = 'outcome_assessed'
      and events.occurred_at < cast({{ dbt.dateadd('day', 1, reference_date()) }} as {{ dbt.type_timestamp() }})

),

with_history as (

    select
        assessments.*,
        first_value(staircase_step) over (partition by case_reference order by assessment_sequence)
            as baseline_staircase_step,
        first_value(scaling_step) over (partition by case_reference order by assessment_sequence)
            as baseline_scaling_step,
        lag(staircase_step) over (partition by case_reference order by assessment_sequence)
            as previous_staircase_step,
        lag(scaling_step) over (partition by case_reference order by assessment_sequence)
            as previous_scaling_step
    from assessments

),

cases as (

    select case_id, sbsys_id, client_id
    from {{ ref('stg_os2bos__cases') }}
    where sbsys_id is not null

),

main_activities as (

    select case_id, activity_id, start_date, intervention_category, provider_key
    from {{ ref('int_activities_enriched') }}
    where activity_status = 'GRANTED'
      and activity_type = 'MAIN_ACTIVITY'

),

activity_at_assessment as (

    select *
    from (
        select
            with_history.event_id,
            main_activities.activity_id,
            main_activities.intervention_category,
            main_activities.provider_key,
            row_number() over (
                partition by with_history.event_id
                order by
                    case
                        when main_activities.start_date <= cast(with_history.occurred_at as date)
                            then {{ dbt.datediff('main_activities.start_date', 'cast(with_history.occurred_at as date)', 'day') }}
                        else 1000000 + {{ dbt.datediff('cast(with_history.occurred_at as date)', 'main_activities.start_date', 'day') }}
                    end,
                    main_activities.activity_id
            ) as activity_rank
        from with_history
        inner join cases
            on cases.sbsys_id = with_history.case_reference
        inner join main_activities
            on main_activities.case_id = cases.case_id
    ) as ranked
    where activity_rank = 1

),

final as (

    select
        with_history.event_id                                                   as outcome_assessment_id,
        coalesce(cases.client_id, with_history.person_id)                       as client_id,
        with_history.case_reference,
        cases.case_id,
        with_history.jurisdiction,
        with_history.municipality_code,
        with_history.caseworker,
        with_history.team_code,
        with_history.occurred_at                                                as assessed_at,
        cast(with_history.occurred_at as date)                                  as assessed_date,
        with_history.assessment_sequence,
        with_history.assessment_sequence = 0                                    as is_baseline,
        with_history.reverse_sequence = 1                                       as is_latest_assessment,
        with_history.staircase_step,
        with_history.scaling_step,
        with_history.baseline_staircase_step,
        with_history.baseline_scaling_step,
        with_history.previous_staircase_step,
        with_history.previous_scaling_step,
        with_history.staircase_step - with_history.baseline_staircase_step      as staircase_change_vs_baseline,
        with_history.scaling_step - with_history.baseline_scaling_step          as scaling_change_vs_baseline,
        with_history.staircase_step - with_history.previous_staircase_step      as staircase_change_vs_previous,
        with_history.scaling_step - with_history.previous_scaling_step          as scaling_change_vs_previous,
        with_history.staircase_step < with_history.baseline_staircase_step      as moved_down_vs_baseline,
        with_history.staircase_step > with_history.baseline_staircase_step      as moved_up_vs_baseline,
        with_history.staircase_step < with_history.previous_staircase_step      as moved_down_vs_previous,
        with_history.goal_reached,
        activity_at_assessment.activity_id,
        coalesce(activity_at_assessment.intervention_category, 'Unclassified')  as intervention_category,
        coalesce(activity_at_assessment.provider_key, 'unknown-provider')       as provider_key,
        closures.case_closed_at,
        cast(closures.case_closed_at as date)                                   as case_closed_date,
        closures.closure_reason,
        closures.is_return_window_complete,
        closures.returned_within_12_months,
        closures.returned_at,
        closures.return_event_type
    from with_history
    left join cases
        on cases.sbsys_id = with_history.case_reference
    left join activity_at_assessment
        on activity_at_assessment.event_id = with_history.event_id
    left join {{ ref('int_case_closures') }} as closures
        on closures.case_reference = with_history.case_reference

)

select * from final
