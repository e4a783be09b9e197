{{ config(schema='intermediate', materialized='table') }}
-- A table, not a view: the agg_ model and every test of these cells read it (a view is recomputed for each).
-- Cells of the leaders' cost distribution before suppression: each child's total cost in a year
-- (fct_client_cost, all interventions) falls in one cost band; one row per year x school district x cost
-- band, with margins ('All'). A child belongs to one district (dim_client), so cells add up.

with

client_years as (

    select
        cost_year,
        client_id,
        max(school_district_name) as school_district_name,
        sum(cost_dkk)             as cost_dkk
    from {{ ref('fct_client_cost') }}
    group by cost_year, client_id

),

banded as (

    select
        cost_year,
        client_id,
        school_district_name,
        cost_dkk,
        case
            when cost_dkk < 50000 then 1
            when cost_dkk < 200000 then 2
            when cost_dkk < 500000 then 3
            when cost_dkk < 1000000 then 4
            else 5
        end as cost_band_order
    from client_years

),

cells as (

    select cost_year, school_district_name, cost_band_order, count(distinct client_id) as clients, sum(cost_dkk) as cost_dkk
    from banded
    group by cost_year, school_district_name, cost_band_order

    union all

    select cost_year, 'All', cost_band_order, count(distinct client_id), sum(cost_dkk)
    from banded
    group by cost_year, cost_band_order

    union all

    select cost_year, school_district_name, 0, count(distinct client_id), sum(cost_dkk)
    from banded
    group by cost_year, school_district_name

    union all

    select cost_year, 'All', 0, count(distinct client_id), sum(cost_dkk)
    from banded
    group by cost_year

)

select
    cost_year,
    school_district_name,
    case cost_band_order
        when 0 then 'All'
        when 1 then 'under 50,000'
        when 2 then '50,000 - 199,999'
        when 3 then '200,000 - 499,999'
        when 4 then '500,000 - 999,999'
        else '1 million or more'
    end                                            as cost_band,
    cost_band_order,
    cast(clients as {{ dbt.type_bigint() }})       as clients,
    cast(cost_dkk as decimal(18, 2))               as cost_dkk
from cells
