-- Unit cost (KPB step 3, p_k = C_k / V_k): one row per intervention category x delivering unit
-- (provider_key) x month x volume unit.
--   purchased: cost = paid payments (paid month); volume = care days for daily schedules (one payment per
--              day x payment_units), otherwise the number of paid weekly / monthly / one-off payments;
--   in-house:  cost = salaries allocated by hours; volume = hours (int_in_house_cost_allocated).
-- unit_cost_dkk = cost_dkk / volume: cost per care day for daily placements, per hour in-house, per
-- week / month / one-off otherwise.

with

purchased as (

    select
        coalesce(intervention_category, 'Unclassified')   as intervention_category,
        coalesce(provider_key, 'unknown-provider')         as provider_key,
        {{ month_start('paid_date') }}                     as cost_month,
        coalesce(volume_unit, 'one-off')                   as volume_unit,
        client_id,
        paid_amount                                        as cost_dkk,
        case
            when volume_unit = 'care day' then coalesce(payment_units, 1)
            else 1
        end                                                as volume
    from {{ ref('int_payments_attributed') }}
    where is_paid

),

in_house as (

    select
        coalesce(intervention_category, 'Unclassified')   as intervention_category,
        provider_key,
        cost_month,
        'hour'                                             as volume_unit,
        client_id,
        in_house_cost_dkk                                  as cost_dkk,
        hours                                              as volume
    from {{ ref('int_in_house_cost_allocated') }}
    where unit_salaries_dkk is not null

),

combined as (

    select * from purchased
    union all
    select * from in_house

),

aggregated as (

    select
        intervention_category,
        provider_key,
        cost_month,
        volume_unit,
        sum(cost_dkk)                                      as cost_dkk,
        sum(volume)                                        as volume,
        count(distinct client_id)                          as clients
    from combined
    group by intervention_category, provider_key, cost_month, volume_unit

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'intervention_category', "'|'", 'provider_key', "'|'",
            dbt.cast('cost_month', api.Column.translate_type('string')), "'|'", 'volume_unit'
        ])) }}                                                            as unit_cost_key,
        intervention_category,
        provider_key,
        cost_month,
        cast(extract(year from cost_month) as integer)                   as cost_year,
        volume_unit,
        cast(cost_dkk as decimal(18, 2))                                  as cost_dkk,
        cast(volume as decimal(18, 2))                                    as volume,
        cast(case when volume <> 0 then cost_dkk / volume end as decimal(18, 2)) as unit_cost_dkk,
        cast(clients as {{ dbt.type_bigint() }})                          as clients,
        provider_key like 'internal-%'                                    as is_in_house
    from aggregated

)

select * from final
