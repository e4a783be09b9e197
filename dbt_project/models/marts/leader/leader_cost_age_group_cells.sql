{{ config(schema='intermediate', materialized='table') }}
-- A table, not a view: the agg_ model and every test of these cells read it (a view is recomputed for each).
-- Cells of the leaders' cost per client by age group before suppression: one row per year x school
-- district x age group (fct_client_cost.age_group), with margins ('All'). Clients are counted distinctly
-- in every cell (margins are not sums of cells); costs add up.

with

cost as (

    select cost_year, school_district_name, age_group, client_id, cost_dkk
    from {{ ref('fct_client_cost') }}

),

cells as (

    select cost_year, school_district_name, age_group, count(distinct client_id) as clients, sum(cost_dkk) as cost_dkk
    from cost
    group by cost_year, school_district_name, age_group

    union all

    select cost_year, 'All', age_group, count(distinct client_id), sum(cost_dkk)
    from cost
    group by cost_year, age_group

    union all

    select cost_year, school_district_name, 'All', count(distinct client_id), sum(cost_dkk)
    from cost
    group by cost_year, school_district_name

    union all

    select cost_year, 'All', 'All', count(distinct client_id), sum(cost_dkk)
    from cost
    group by cost_year

)

select
    cost_year,
    school_district_name,
    age_group,
    cast(clients as {{ dbt.type_bigint() }})       as clients,
    cast(cost_dkk as decimal(18, 2))               as cost_dkk,
    cast(cost_dkk / clients as decimal(18, 2))     as cost_per_client_dkk
from cells
