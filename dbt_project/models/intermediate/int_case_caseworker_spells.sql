-- One row per case x period with one caseworker, from the case history (core_historicalcase): the
-- caseworker recorded at each change holds the case until the next change. Several changes on one day
-- keep the day's last. Spells are clipped to the case's open period: from the case's creation to its
-- close date (the last end date of its non-draft activities when all of them have ended; open-ended or
-- still running activities, or no activities at all, keep the case open) or a history 'delete'.
-- Cases without history get one spell with their current caseworker from creation.

with

history as (

    select
        case_id,
        case_worker_user_id,
        history_type,
        cast(valid_from_at as date) as valid_from,
        row_number() over (
            partition by case_id, cast(valid_from_at as date)
            order by valid_from_at desc, case_history_id desc
        ) as rank_in_day
    from {{ ref('stg_os2bos__historical_cases') }}

),

daily_history as (

    select case_id, case_worker_user_id, history_type, valid_from
    from history
    where rank_in_day = 1

),

cases as (

    select case_id, case_worker_user_id, cast(created_at as date) as created_date
    from {{ ref('stg_os2bos__cases') }}

),

case_activity_ends as (

    select
        case_id,
        count(*)                                                   as activities,
        sum(case when end_date is null then 1 else 0 end)          as open_ended_activities,
        max(end_date)                                              as last_end_date
    from {{ ref('int_activities_enriched') }}
    where activity_status <> 'DRAFT'
    group by case_id

),

case_periods as (

    select
        cases.case_id,
        cases.case_worker_user_id                                  as current_case_worker_user_id,
        cases.created_date,
        case
            when case_activity_ends.activities > 0 and case_activity_ends.open_ended_activities = 0
            then case_activity_ends.last_end_date
        end                                                        as closed_date
    from cases
    left join case_activity_ends
        on cases.case_id = case_activity_ends.case_id

),

spells as (

    select
        daily_history.case_id,
        daily_history.case_worker_user_id,
        daily_history.history_type,
        daily_history.valid_from,
        {{ dbt.dateadd('day', -1, 'lead(daily_history.valid_from) over (partition by daily_history.case_id order by daily_history.valid_from)') }}
            as valid_to
    from daily_history

    union all

    select
        case_periods.case_id,
        case_periods.current_case_worker_user_id,
        '+'                                                        as history_type,
        case_periods.created_date                                  as valid_from,
        cast(null as date)                                         as valid_to
    from case_periods
    where not exists (select 1 from daily_history where daily_history.case_id = case_periods.case_id)

),

clipped as (

    select
        spells.case_id,
        spells.case_worker_user_id,
        case
            when spells.valid_from < case_periods.created_date then case_periods.created_date
            else spells.valid_from
        end                                                        as valid_from,
        case
            when case_periods.closed_date is not null
                 and (spells.valid_to is null or spells.valid_to > case_periods.closed_date)
            then case_periods.closed_date
            else cast(spells.valid_to as date)
        end                                                        as valid_to
    from spells
    inner join case_periods
        on spells.case_id = case_periods.case_id
    where spells.history_type <> '-'
      and spells.case_worker_user_id is not null

),

final as (

    select
        {{ dbt.hash(dbt.concat(['cast(case_id as varchar)', "'|'", 'cast(valid_from as varchar)'])) }} as case_caseworker_spell_key,
        case_id,
        case_worker_user_id,
        valid_from,
        valid_to
    from clipped
    where valid_to is null or valid_to >= valid_from

)

select * from final
