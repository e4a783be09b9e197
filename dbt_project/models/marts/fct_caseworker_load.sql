-- Caseworker load: one row per caseworker x day, from the first day any case was assigned to the
-- reference date, with the number of open cases the caseworker holds that day (from the case history:
-- reassignments move a case from one caseworker to another on the day of the change).
-- Grain is per day: it answers "at a date" exactly and stays small (caseworkers x days: about 25,000 rows
-- for the small sample, ~3 million for the national scale); it is computed from +1/-1 events per
-- caseworker and a running sum, never by expanding cases x days. Team is the caseworker's team now
-- (OS2bos keeps no team history).

with

spells as (

    select * from {{ ref('int_case_caseworker_spells') }}
    where valid_from <= {{ reference_date() }}

),

events as (

    select case_worker_user_id, valid_from as event_date, 1 as delta, 1 as assigned, 0 as released
    from spells

    union all

    select
        case_worker_user_id,
        cast({{ dbt.dateadd('day', 1, 'valid_to') }} as date) as event_date,
        -1, 0, 1
    from spells
    where valid_to is not null

),

daily_events as (

    select
        case_worker_user_id,
        event_date,
        sum(delta)     as delta,
        sum(assigned)  as cases_assigned,
        sum(released)  as cases_released
    from events
    group by case_worker_user_id, event_date

),

caseworkers as (

    select case_worker_user_id, min(valid_from) as first_date
    from spells
    group by case_worker_user_id

),

days as (

    select date_day
    from {{ ref('dim_date') }}
    where date_day <= {{ reference_date() }}
      and date_day >= (select min(valid_from) from spells)

),

grid as (

    select caseworkers.case_worker_user_id, days.date_day
    from caseworkers
    inner join days
        on days.date_day >= caseworkers.first_date

),

running as (

    select
        grid.case_worker_user_id,
        grid.date_day,
        coalesce(daily_events.cases_assigned, 0)                       as cases_assigned,
        coalesce(daily_events.cases_released, 0)                       as cases_released,
        sum(coalesce(daily_events.delta, 0)) over (
            partition by grid.case_worker_user_id
            order by grid.date_day
            rows between unbounded preceding and current row
        )                                                              as open_cases
    from grid
    left join daily_events
        on grid.case_worker_user_id = daily_events.case_worker_user_id
        and grid.date_day = daily_events.event_date

),

caseworker_dim as (

    select case_worker_user_id, team_id from {{ ref('dim_caseworker') }}

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            dbt.cast('running.case_worker_user_id', api.Column.translate_type('string')), "'|'",
            dbt.cast('running.date_day', api.Column.translate_type('string'))
        ])) }}                                                         as caseworker_load_key,
        running.date_day                                               as load_date,
        running.case_worker_user_id,
        caseworker_dim.team_id,
        cast(running.open_cases as integer)                            as open_cases,
        cast(running.cases_assigned as integer)                        as cases_assigned,
        -- counted on the first day the caseworker no longer holds the case
        cast(running.cases_released as integer)                        as cases_released,
        cast({{ dbt.last_day('running.date_day', 'month') }} as date) = running.date_day as is_month_end
    from running
    left join caseworker_dim
        on running.case_worker_user_id = caseworker_dim.case_worker_user_id

)

select * from final
