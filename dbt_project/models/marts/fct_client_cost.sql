-- Cost per client (KPB): one row per client x intervention category x month of paid OS2bos payments.
-- Reporting rule (DOMAIN.md): a payment counts as cost once paid, with paid_amount on paid_date.
-- Payments without an intervention are kept under 'Unclassified' (staircase_step null) so that the
-- mart's total always equals total paid cost.

with

paid_payments as (

    select
        client_id,
        coalesce(intervention_category, 'Unclassified') as intervention_category,
        staircase_step,
        paid_amount,
        cast({{ dbt.date_trunc('month', 'paid_date') }} as date) as cost_month
    from {{ ref('int_payments_attributed') }}
    where is_paid

),

monthly as (

    select
        client_id,
        cost_month,
        intervention_category,
        staircase_step,
        sum(paid_amount) as cost_dkk,
        count(*) as payment_count
    from paid_payments
    group by
        client_id,
        cost_month,
        intervention_category,
        staircase_step

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'client_id', "'|'",
            dbt.cast('cost_month', api.Column.translate_type('string')), "'|'",
            'intervention_category'
        ])) }} as client_cost_key,
        client_id,
        cost_month,
        cast(extract(year from cost_month) as integer) as cost_year,
        intervention_category,
        cast(staircase_step as integer) as staircase_step,
        cast(cost_dkk as decimal(18, 2)) as cost_dkk,
        cast(payment_count as {{ dbt.type_bigint() }}) as payment_count
    from monthly

)

select * from final
