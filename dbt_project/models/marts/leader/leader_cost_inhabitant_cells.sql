{{ config(schema='intermediate', materialized='table') }}
-- A table, not a view: the agg_ model and every test of these cells read it (a view is recomputed for each).
-- Cells of the leaders' cost per inhabitant before suppression: one row per year x school district (and
-- 'All') with the year's cost and children (fct_client_cost) and the inhabitants aged 0-17 and 0-22 on
-- 1 January (fct_population, SAMPLE population). Years with cost only.

with

cost as (

    select cost_year, school_district_name, count(distinct client_id) as clients, sum(cost_dkk) as cost_dkk
    from {{ ref('fct_client_cost') }}
    group by cost_year, school_district_name

    union all

    select cost_year, 'All', count(distinct client_id), sum(cost_dkk)
    from {{ ref('fct_client_cost') }}
    group by cost_year

),

population as (

    select population_year, school_district_name,
           sum(population_0_17) as population_0_17, sum(population_0_22) as population_0_22
    from {{ ref('fct_population') }}
    group by population_year, school_district_name

    union all

    select population_year, 'All', sum(population_0_17), sum(population_0_22)
    from {{ ref('fct_population') }}
    group by population_year

)

select
    cost.cost_year,
    cost.school_district_name,
    cast(cost.clients as {{ dbt.type_bigint() }})                                    as clients,
    cast(cost.cost_dkk as decimal(18, 2))                                            as cost_dkk,
    cast(population.population_0_17 as {{ dbt.type_bigint() }})                      as population_0_17,
    cast(population.population_0_22 as {{ dbt.type_bigint() }})                      as population_0_22,
    cast(cost.cost_dkk / nullif(population.population_0_17, 0) as decimal(18, 2))    as cost_per_inhabitant_0_17_dkk,
    cast(cost.cost_dkk / nullif(population.population_0_22, 0) as decimal(18, 2))    as cost_per_inhabitant_0_22_dkk
from cost
left join population
    on cost.cost_year = population.population_year
    and cost.school_district_name = population.school_district_name
