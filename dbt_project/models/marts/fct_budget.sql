-- Budget follow-up and year-end forecast: one row per municipality x account string x month.
--   budget_dkk               budget lines (stg_finance__budgets);
--   actual_dkk               ledger postings of the month (all postings, attributed or not);
--   remaining_granted_dkk    planned, not yet paid payments of GRANTED activities due in the month;
--   expected_adjustment_dkk  expected adjustments (DOMAIN.md): an EXPECTED activity with modifies_id
--                            overrides the granted one from its own start date, i.e. + its planned
--                            payments - the granted activity's unpaid payments due on or after that date;
--   forecast_dkk             actual_dkk + remaining_granted_dkk + expected_adjustment_dkk
--                            (sum over a year's months = year-end forecast).
-- Cost without payments in OS2bos (in-house salaries, overhead) is forecast only by its actuals so far
-- (no run-rate yet).

with

payments as (

    select
        coalesce(municipality_code, 'unknown')             as municipality_code,
        coalesce(account_string, 'unknown')                as account_string,
        {{ month_start('planned_date') }}                  as budget_month,
        activity_id,
        activity_status,
        modifies_activity_id,
        planned_date,
        planned_amount,
        is_paid
    from {{ ref('int_payments_attributed') }}

),

adjustments as (

    -- EXPECTED adjustments and the granted activity each overrides, from the adjustment's start date.
    select
        activity_id                                        as expected_activity_id,
        modifies_activity_id                               as granted_activity_id,
        start_date                                         as override_from
    from {{ ref('int_activities_enriched') }}
    where activity_status = 'EXPECTED'
      and modifies_activity_id is not null

),

planned as (

    select
        payments.municipality_code,
        payments.account_string,
        payments.budget_month,
        sum(
            case when payments.activity_status = 'GRANTED' and not payments.is_paid
                 then payments.planned_amount else 0 end
        )                                                  as remaining_granted_dkk,
        sum(
            case when payments.activity_status = 'GRANTED' and not payments.is_paid
                      and overridden.granted_activity_id is not null
                 then payments.planned_amount else 0 end
        )                                                  as overridden_granted_dkk,
        sum(
            case when payments.activity_status = 'EXPECTED' and not payments.is_paid
                      and expected.expected_activity_id is not null
                 then payments.planned_amount else 0 end
        )                                                  as expected_dkk
    from payments
    left join adjustments as overridden
        on payments.activity_id = overridden.granted_activity_id
        and payments.planned_date >= overridden.override_from
    left join adjustments as expected
        on payments.activity_id = expected.expected_activity_id
    group by payments.municipality_code, payments.account_string, payments.budget_month

),

actuals as (

    select
        coalesce(municipality_code, 'unknown')             as municipality_code,
        coalesce(account_string, 'unknown')                as account_string,
        {{ month_start('posting_date') }}                  as budget_month,
        sum(amount_dkk)                                    as actual_dkk
    from {{ ref('stg_finance__ledger_postings') }}
    group by
        coalesce(municipality_code, 'unknown'),
        coalesce(account_string, 'unknown'),
        {{ month_start('posting_date') }}

),

budgets as (

    select
        coalesce(municipality_code, 'unknown')             as municipality_code,
        coalesce(account_string, 'unknown')                as account_string,
        budget_month_start                                 as budget_month,
        sum(budget_dkk)                                    as budget_dkk
    from {{ ref('stg_finance__budgets') }}
    group by coalesce(municipality_code, 'unknown'), coalesce(account_string, 'unknown'), budget_month_start

),

keys as (

    select municipality_code, account_string, budget_month from budgets
    union
    select municipality_code, account_string, budget_month from actuals
    union
    select municipality_code, account_string, budget_month from planned

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'keys.municipality_code', "'|'", 'keys.account_string', "'|'",
            dbt.cast('keys.budget_month', api.Column.translate_type('string'))
        ])) }}                                                                   as budget_key,
        keys.municipality_code,
        keys.account_string,
        keys.budget_month,
        cast(extract(year from keys.budget_month) as integer)                    as budget_year,
        keys.budget_month > {{ reference_date() }}                               as is_future_month,
        cast(coalesce(budgets.budget_dkk, 0) as decimal(18, 2))                  as budget_dkk,
        cast(coalesce(actuals.actual_dkk, 0) as decimal(18, 2))                  as actual_dkk,
        cast(coalesce(planned.remaining_granted_dkk, 0) as decimal(18, 2))       as remaining_granted_dkk,
        cast(coalesce(planned.expected_dkk, 0) - coalesce(planned.overridden_granted_dkk, 0) as decimal(18, 2))
                                                                                 as expected_adjustment_dkk,
        cast(
            coalesce(actuals.actual_dkk, 0) + coalesce(planned.remaining_granted_dkk, 0)
            + coalesce(planned.expected_dkk, 0) - coalesce(planned.overridden_granted_dkk, 0)
            as decimal(18, 2))                                                   as forecast_dkk,
        cast(
            coalesce(actuals.actual_dkk, 0) + coalesce(planned.remaining_granted_dkk, 0)
            + coalesce(planned.expected_dkk, 0) - coalesce(planned.overridden_granted_dkk, 0)
            - coalesce(budgets.budget_dkk, 0)
            as decimal(18, 2))                                                   as forecast_variance_dkk
    from keys
    left join budgets
        on keys.municipality_code = budgets.municipality_code
        and keys.account_string = budgets.account_string
        and keys.budget_month = budgets.budget_month
    left join actuals
        on keys.municipality_code = actuals.municipality_code
        and keys.account_string = actuals.account_string
        and keys.budget_month = actuals.budget_month
    left join planned
        on keys.municipality_code = planned.municipality_code
        and keys.account_string = planned.account_string
        and keys.budget_month = planned.budget_month

)

select * from final
