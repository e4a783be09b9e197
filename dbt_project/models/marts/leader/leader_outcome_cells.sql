{{ config(schema='intermediate', materialized='table') }}
-- A table, not a view: the agg_ model and every test of these cells read it (a view is recomputed for each).
-- Cells of the leaders' effect table before suppression: each case's latest outcome assessment that is a
-- follow-up (fct_outcomes: is_latest_assessment and not is_baseline, as the semantic layer's
-- cases_assessed_after_baseline), per year of that assessment x school district of the child (dim_client)
-- x breakdown ('Intervention category' or 'Provider') x its value, with margins ('All' districts, 'All'
-- values). Movement is against the case's baseline assessment.

with

latest as (

    select
        cast(extract(year from outcomes.assessed_date) as integer)       as assessed_year,
        coalesce(clients.school_district_name, 'Unknown')                as school_district_name,
        outcomes.intervention_category,
        coalesce(providers.provider_name, 'Unknown provider')            as provider_name,
        outcomes.client_id,
        outcomes.case_reference,
        outcomes.staircase_change_vs_baseline,
        outcomes.scaling_change_vs_baseline
    from {{ ref('fct_outcomes') }} as outcomes
    left join {{ ref('dim_client') }} as clients
        on outcomes.client_id = clients.client_id
    left join {{ ref('dim_provider') }} as providers
        on outcomes.provider_key = providers.provider_key
    where outcomes.is_latest_assessment and not outcomes.is_baseline

),

by_breakdown as (

    select assessed_year, school_district_name, 'Intervention category' as breakdown,
           intervention_category as breakdown_value, client_id, case_reference,
           staircase_change_vs_baseline, scaling_change_vs_baseline
    from latest

    union all

    select assessed_year, school_district_name, 'Provider', provider_name, client_id, case_reference,
           staircase_change_vs_baseline, scaling_change_vs_baseline
    from latest

),

keyed as (

    select * from by_breakdown
    union all
    select assessed_year, 'All', breakdown, breakdown_value, client_id, case_reference,
           staircase_change_vs_baseline, scaling_change_vs_baseline
    from by_breakdown

),

with_value_margin as (

    select * from keyed
    union all
    select assessed_year, school_district_name, breakdown, 'All', client_id, case_reference,
           staircase_change_vs_baseline, scaling_change_vs_baseline
    from keyed

),

cells as (

    select
        assessed_year,
        school_district_name,
        breakdown,
        breakdown_value,
        count(distinct client_id)                                                   as children,
        count(*)                                                                    as cases,
        sum(case when staircase_change_vs_baseline < 0 then 1 else 0 end)           as cases_moved_down,
        sum(case when staircase_change_vs_baseline = 0 then 1 else 0 end)           as cases_same_step,
        sum(case when staircase_change_vs_baseline > 0 then 1 else 0 end)           as cases_moved_up,
        avg(cast(staircase_change_vs_baseline as decimal(9, 4)))                    as average_staircase_change,
        avg(cast(scaling_change_vs_baseline as decimal(9, 4)))                      as average_scaling_change
    from with_value_margin
    group by assessed_year, school_district_name, breakdown, breakdown_value

)

select
    assessed_year,
    school_district_name,
    breakdown,
    breakdown_value,
    cast(children as {{ dbt.type_bigint() }})                                       as children,
    cast(cases as {{ dbt.type_bigint() }})                                          as cases,
    cast(cases_moved_down as {{ dbt.type_bigint() }})                               as cases_moved_down,
    cast(cases_same_step as {{ dbt.type_bigint() }})                                as cases_same_step,
    cast(cases_moved_up as {{ dbt.type_bigint() }})                                 as cases_moved_up,
    cast(cast(cases_moved_down as decimal(18, 4)) / cases as decimal(9, 4))         as share_moved_down,
    cast(average_staircase_change as decimal(9, 2))                                 as average_staircase_change,
    cast(average_scaling_change as decimal(9, 2))                                   as average_scaling_change
from cells
