-- Cells of the leaders' placement-mix table before suppression: children placed at each year's last
-- month end (31 December, or the latest month end before the reference date in the current year) by
-- school district x placement group, with margins ('All'). Children counted distinctly per cell.

with

stock as (

    select
        month_ends.stock_year,
        month_ends.month_end,
        month_ends.client_id,
        month_ends.placement_group,
        coalesce(clients.school_district_name, 'Unknown') as school_district_name
    from {{ ref('fct_placement_month_ends') }} as month_ends
    left join {{ ref('int_clients') }} as clients
        on month_ends.client_id = clients.client_id

),

year_ends as (

    select stock_year, max(month_end) as month_end
    from stock
    group by stock_year

),

at_year_end as (

    select stock.*
    from stock
    inner join year_ends
        on stock.stock_year = year_ends.stock_year
        and stock.month_end = year_ends.month_end

),

cells as (

    select stock_year, month_end, school_district_name, placement_group, count(distinct client_id) as children
    from at_year_end
    group by stock_year, month_end, school_district_name, placement_group

    union all

    select stock_year, month_end, 'All', placement_group, count(distinct client_id)
    from at_year_end
    group by stock_year, month_end, placement_group

    union all

    select stock_year, month_end, school_district_name, 'All', count(distinct client_id)
    from at_year_end
    group by stock_year, month_end, school_district_name

    union all

    select stock_year, month_end, 'All', 'All', count(distinct client_id)
    from at_year_end
    group by stock_year, month_end

)

select
    stock_year,
    month_end                                           as stock_date,
    school_district_name,
    placement_group,
    cast(children as {{ dbt.type_bigint() }})           as children_placed
from cells
