-- A table, not a view: several models and tests read it (a view is recomputed for each).
{{ config(materialized='table') }}

-- One row per closed case (case_reference with a case_closed event; the first closure counts), with
-- whether the child returned to services within 12 months. Return (Kolada U33400/U33461 style): an event
-- for the same child (person_id, any case) that starts new help, occurring after the closure and at most
-- 365 days after it: a notification assessed 'investigate', a decision_made 'granted' or an
-- immediate_effort_started. returned_within_12_months is null while the 365 days have not passed by the end
-- of the reference date and no return was seen yet.

with

events as (

    select * from {{ ref('stg_case_events__events') }}

),

as_of as (

    select cast({{ dbt.dateadd('day', 1, reference_date()) }} as {{ dbt.type_timestamp() }}) as as_of_at

),

closures as (

    select *
    from (
        select
            events.case_reference,
            events.person_id,
            events.event_id,
            events.occurred_at,
            events.closure_reason,
            row_number() over (partition by events.case_reference order by events.occurred_at, events.event_id)
                as closure_rank
        from events
        cross join as_of
        where events.event_type = 'case_closed'
          and events.occurred_at < as_of.as_of_at
    ) as ranked
    where closure_rank = 1

),

return_events as (

    select person_id, event_id, event_type, occurred_at
    from events
    where (event_type = 'notification_assessed' and outcome = 'investigate')
       or (event_type = 'decision_made' and outcome = 'granted')
       or event_type = 'immediate_effort_started'

),

first_returns as (

    select *
    from (
        select
            closures.case_reference,
            return_events.event_id,
            return_events.event_type,
            return_events.occurred_at,
            row_number() over (
                partition by closures.case_reference order by return_events.occurred_at, return_events.event_id
            ) as return_rank
        from closures
        cross join as_of
        inner join return_events
            on return_events.person_id = closures.person_id
            and return_events.occurred_at > closures.occurred_at
            and return_events.occurred_at <= {{ dbt.dateadd('day', 365, 'closures.occurred_at') }}
            and return_events.occurred_at < as_of.as_of_at
    ) as ranked
    where return_rank = 1

),

final as (

    select
        closures.case_reference,
        closures.person_id,
        closures.event_id                                                          as closure_event_id,
        closures.occurred_at                                                       as case_closed_at,
        closures.closure_reason,
        cast({{ dbt.dateadd('day', 365, 'closures.occurred_at') }} as {{ dbt.type_timestamp() }})
                                                                                   as return_window_end_at,
        {{ dbt.dateadd('day', 365, 'closures.occurred_at') }} < as_of.as_of_at      as is_return_window_complete,
        first_returns.event_id                                                     as return_event_id,
        first_returns.event_type                                                   as return_event_type,
        first_returns.occurred_at                                                  as returned_at,
        case
            when first_returns.event_id is not null then true
            when {{ dbt.dateadd('day', 365, 'closures.occurred_at') }} < as_of.as_of_at then false
        end                                                                        as returned_within_12_months
    from closures
    cross join as_of
    left join first_returns
        on first_returns.case_reference = closures.case_reference

)

select * from final
