-- A table, not a view: several models and tests read it (a view is recomputed for each).
{{ config(materialized='table') }}

-- KPB for the in-house unit (DOMAIN.md step 2-4): one row per in-house activity x month with the hours
-- it received and its share of the unit's salaries.
--
-- Volume: in-house activities have fictive schedules (recipient_type INTERNAL) whose payment_units are the
-- hours per month the child receives. Every GRANTED in-house activity counts its payment_units in each
-- calendar month it is active (start month to end month, open-ended ones to the reference month); months
-- are not prorated, as the schedule's hours are a monthly volume.
-- Cost: the unit's salaries are ledger postings with voucher prefix 'LOEN' on the account(s) marked
-- has_in_house_unit in seed account_interventions (528211003-015209), per municipality and posting month.
-- Allocation key: hours. unit cost = salaries / hours of the same municipality and month; an activity's
-- cost = its hours x unit cost, rounded to the øre, and the rounding remainder is put on the month's
-- largest row so that the allocated cost equals the salaries to the øre. Salaries in a month without
-- hours stay unallocated (reported in fct_ledger_reconciliation).

with

in_house_activities as (

    select *
    from {{ ref('int_activities_enriched') }}
    where is_in_house
      and activity_status = 'GRANTED'
      and start_date is not null
      and payment_units is not null

),

months as (

    select month_start, month_end from {{ ref('int_calendar_months') }}

),

volume as (

    select
        in_house_activities.activity_id,
        in_house_activities.appropriation_id,
        in_house_activities.client_id,
        in_house_activities.municipality_code,
        in_house_activities.intervention_category,
        in_house_activities.staircase_step,
        in_house_activities.provider_key,
        months.month_start                         as cost_month,
        cast(in_house_activities.payment_units as decimal(18, 2)) as hours
    from in_house_activities
    inner join months
        on months.month_end >= in_house_activities.start_date
        and months.month_start <= coalesce(in_house_activities.end_date, {{ reference_date() }})
        and months.month_start <= {{ reference_date() }}

),

salaries as (

    select
        postings.municipality_code,
        {{ month_start('postings.posting_date') }} as cost_month,
        sum(postings.amount_dkk)                   as salaries_dkk
    from {{ ref('stg_finance__ledger_postings') }} as postings
    inner join {{ ref('account_interventions') }} as accounts
        on postings.account_string = accounts.account_string
        and accounts.has_in_house_unit
    where postings.voucher_number like 'LOEN%'
    group by postings.municipality_code, {{ month_start('postings.posting_date') }}

),

hours_per_month as (

    select municipality_code, cost_month, sum(hours) as total_hours
    from volume
    group by municipality_code, cost_month

),

priced as (

    select
        volume.*,
        salaries.salaries_dkk,
        hours_per_month.total_hours,
        cast(salaries.salaries_dkk / hours_per_month.total_hours as decimal(18, 4)) as unit_cost_per_hour,
        cast(round(volume.hours * salaries.salaries_dkk / hours_per_month.total_hours, 2) as decimal(18, 2))
            as rounded_cost_dkk,
        row_number() over (
            partition by volume.municipality_code, volume.cost_month
            order by volume.hours desc, volume.activity_id
        ) as size_rank
    from volume
    inner join hours_per_month
        on volume.municipality_code = hours_per_month.municipality_code
        and volume.cost_month = hours_per_month.cost_month
    left join salaries
        on volume.municipality_code = salaries.municipality_code
        and volume.cost_month = salaries.cost_month

),

final as (

    select
        activity_id,
        appropriation_id,
        client_id,
        municipality_code,
        intervention_category,
        staircase_step,
        provider_key,
        cost_month,
        hours,
        total_hours                                                   as unit_hours_in_month,
        salaries_dkk                                                  as unit_salaries_dkk,
        unit_cost_per_hour,
        cast(
            coalesce(rounded_cost_dkk, 0)
            + case
                when size_rank = 1 and salaries_dkk is not null
                then salaries_dkk - sum(rounded_cost_dkk) over (partition by municipality_code, cost_month)
                else 0
              end
            as decimal(18, 2)
        )                                                             as in_house_cost_dkk
    from priced

)

select * from final
