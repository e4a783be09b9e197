-- Placement stock: one row per placement spell x month end (up to the reference date) on which it was
-- active. Counting rows for a month end gives the stock at that date
-- (not additive over months: the semantic layer uses the last month end of a period).

with

placements as (

    select * from {{ ref('fct_placements') }}

),

months as (

    select month_start, month_end from {{ ref('int_calendar_months') }}
    where month_start <= {{ reference_date() }}

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            dbt.cast('placements.placement_id', api.Column.translate_type('string')), "'|'",
            dbt.cast('months.month_end', api.Column.translate_type('string'))
        ])) }}                                                          as placement_month_end_key,
        placements.placement_id,
        placements.client_id,
        placements.municipality_code,
        placements.intervention_category,
        placements.placement_group,
        placements.provider_key,
        placements.is_purchased,
        placements.is_private_provider,
        months.month_end,
        cast(extract(year from months.month_end) as integer)           as stock_year
    from placements
    inner join months
        on placements.start_date <= months.month_end
        and placements.observed_end_date >= months.month_end

)

select * from final
