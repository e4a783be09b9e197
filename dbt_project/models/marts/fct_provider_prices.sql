-- Price per unit per provider over time: one row per payment schedule x price interval.
--   rate_per_date: per-unit schedules with their own Price (core_price) take its dated intervals
--                  (core_rateperdate, e.g. a daily placement price indexed every 1 January);
--   global_rate:   GLOBAL_RATE schedules take the intervals of the central rate they point to;
--   fixed_amount:  FIXED schedules have one price, payment_amount per payment (week, month or one-off),
--                  valid over the activity's period.
-- price_dkk includes the provider's VAT factor (amount = base x vat_factor / 100, as OS2bos pays);
-- base_price_dkk is before it. In-house schedules (fictive, priced by salaries) are in fct_unit_cost.

with

activities as (

    select * from {{ ref('int_activities_enriched') }}
    where not is_in_house
      and payment_schedule_id is not null

),

providers as (

    select provider_key, vat_factor from {{ ref('dim_provider') }}

),

prices as (

    select * from {{ ref('stg_os2bos__prices') }}

),

rate_periods as (

    select * from {{ ref('stg_os2bos__rate_periods') }}

),

own_price as (

    select
        activities.activity_id,
        'rate_per_date'                                    as price_source,
        rate_periods.rate_period_id,
        rate_periods.rate_dkk                              as base_price_dkk,
        rate_periods.valid_from,
        rate_periods.valid_to
    from activities
    inner join prices
        on activities.payment_schedule_id = prices.payment_schedule_id
    inner join rate_periods
        on prices.price_id = rate_periods.variable_rate_id

),

global_rate as (

    select
        activities.activity_id,
        'global_rate'                                      as price_source,
        rate_periods.rate_period_id,
        rate_periods.rate_dkk                              as base_price_dkk,
        rate_periods.valid_from,
        rate_periods.valid_to
    from activities
    inner join rate_periods
        on activities.payment_rate_id = rate_periods.variable_rate_id
    where activities.payment_cost_type = 'GLOBAL_RATE'

),

fixed_amount as (

    select
        activities.activity_id,
        'fixed_amount'                                     as price_source,
        cast(null as {{ dbt.type_bigint() }})              as rate_period_id,
        activities.payment_amount                          as base_price_dkk,
        activities.start_date                              as valid_from,
        activities.end_date                                as valid_to
    from activities
    where coalesce(activities.payment_cost_type, 'FIXED') = 'FIXED'
      and activities.payment_amount is not null

),

intervals as (

    select * from own_price
    union all
    select * from global_rate
    union all
    select * from fixed_amount

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            dbt.cast('intervals.activity_id', api.Column.translate_type('string')), "'|'", 'intervals.price_source', "'|'",
            "coalesce(" ~ dbt.cast('intervals.rate_period_id', api.Column.translate_type('string')) ~ ", '')", "'|'",
            "coalesce(" ~ dbt.cast('intervals.valid_from', api.Column.translate_type('string')) ~ ", '')"
        ])) }}                                                                as provider_price_key,
        intervals.activity_id,
        activities.payment_schedule_id,
        activities.provider_key,
        coalesce(activities.intervention_category, 'Unclassified')           as intervention_category,
        activities.activity_details_name,
        activities.activity_status,
        case
            when activities.payment_frequency = 'DAILY' then 'day'
            when activities.payment_frequency in ('WEEKLY', 'BIWEEKLY') then 'week'
            when activities.payment_frequency = 'MONTHLY' then 'month'
            else 'one-off'
        end                                                                   as price_unit,
        intervals.price_source,
        intervals.valid_from,
        intervals.valid_to,
        cast(intervals.base_price_dkk as decimal(18, 2))                      as base_price_dkk,
        cast(coalesce(providers.vat_factor, 100) as decimal(5, 2))            as vat_factor,
        cast(round(intervals.base_price_dkk * coalesce(providers.vat_factor, 100) / 100, 2) as decimal(18, 2)) as price_dkk
    from intervals
    inner join activities
        on intervals.activity_id = activities.activity_id
    left join providers
        on activities.provider_key = providers.provider_key

)

select * from final
