-- Cost per client (KPB, DOMAIN.md): one row per client x intervention category x month.
--   purchased cost: OS2bos payments that were paid (paid_amount on paid_date) carry their actual cost
--                   straight to the child;
--   in-house cost:  hours received from the in-house unit x the unit's cost per hour that month
--                   (int_in_house_cost_allocated: salaries allocated by hours, exact to the øre); only
--                   months with salary postings (unit cost known) are costed.
-- cost_dkk = purchased_cost_dkk + in_house_cost_dkk. Payments without an intervention are kept under
-- 'Unclassified' (staircase_step null), so the purchased total always equals total paid cost.
-- payment_count counts paid payments plus one fictive in-house payment per activity and month.

with

purchased as (

    select
        client_id,
        {{ month_start('paid_date') }}                     as cost_month,
        coalesce(intervention_category, 'Unclassified')    as intervention_category,
        staircase_step,
        paid_amount                                        as purchased_cost_dkk,
        cast(0 as decimal(18, 2))                          as in_house_cost_dkk,
        cast(0 as decimal(18, 2))                          as in_house_hours,
        1                                                  as paid_payment_count,
        0                                                  as in_house_record_count
    from {{ ref('int_payments_attributed') }}
    where is_paid

),

in_house as (

    select
        client_id,
        cost_month,
        coalesce(intervention_category, 'Unclassified')    as intervention_category,
        staircase_step,
        cast(0 as decimal(18, 2))                          as purchased_cost_dkk,
        in_house_cost_dkk,
        hours                                              as in_house_hours,
        0                                                  as paid_payment_count,
        1                                                  as in_house_record_count
    from {{ ref('int_in_house_cost_allocated') }}
    where unit_salaries_dkk is not null

),

combined as (

    select * from purchased
    union all
    select * from in_house

),

monthly as (

    select
        client_id,
        cost_month,
        intervention_category,
        staircase_step,
        sum(purchased_cost_dkk)                            as purchased_cost_dkk,
        sum(in_house_cost_dkk)                             as in_house_cost_dkk,
        sum(in_house_hours)                                as in_house_hours,
        sum(paid_payment_count)                            as paid_payment_count,
        sum(paid_payment_count + in_house_record_count)    as payment_count
    from combined
    group by client_id, cost_month, intervention_category, staircase_step

),

clients as (

    select * from {{ ref('int_clients') }}

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'monthly.client_id', "'|'",
            dbt.cast('monthly.cost_month', api.Column.translate_type('string')), "'|'",
            'monthly.intervention_category'
        ])) }}                                                           as client_cost_key,
        monthly.client_id,
        monthly.cost_month,
        cast(extract(year from monthly.cost_month) as integer)          as cost_year,
        monthly.intervention_category,
        cast(monthly.staircase_step as integer)                         as staircase_step,
        cast(monthly.purchased_cost_dkk + monthly.in_house_cost_dkk as decimal(18, 2)) as cost_dkk,
        cast(monthly.purchased_cost_dkk as decimal(18, 2))              as purchased_cost_dkk,
        cast(monthly.in_house_cost_dkk as decimal(18, 2))               as in_house_cost_dkk,
        cast(monthly.in_house_hours as decimal(18, 2))                  as in_house_hours,
        cast(monthly.payment_count as {{ dbt.type_bigint() }})          as payment_count,
        cast(monthly.paid_payment_count as {{ dbt.type_bigint() }})     as paid_payment_count,
        coalesce(clients.municipality_code, 'unknown')                  as municipality_code,
        coalesce(clients.school_district_name, 'Unknown')               as school_district_name,
        {{ age_group(age_in_years('clients.birth_date', 'monthly.cost_month')) }} as age_group,
        coalesce(clients.sex, 'U')                                      as sex
    from monthly
    left join clients
        on monthly.client_id = clients.client_id

)

select * from final
