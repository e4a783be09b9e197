-- Leader-facing distribution of the yearly cost per child: children and their cost per year x school
-- district x cost band (DKK per child and year), with margins ('All'). The top band ("1 million or more")
-- is the outliers. Cells about fewer than 5 children are suppressed, with complementary suppression along
-- districts and bands (macro suppress_small_cells); clients_shown is what a dashboard displays.

with

suppressed as (

    {{ suppress_small_cells(
        relation=ref('leader_cost_band_cells'),
        count_column='clients',
        value_columns=['clients', 'cost_dkk'],
        group_sets=[['cost_year', 'school_district_name'], ['cost_year', 'cost_band']],
        order_by='school_district_name, cost_band_order',
        threshold=5,
        passes=4
    ) }}

)

select
    *,
    case
        when suppression_reason = 'primary' then '<5'
        when is_suppressed then 'hidden'
        else cast(clients as {{ dbt.type_string() }})
    end as clients_shown
from suppressed
