-- Leader-facing cost per inhabitant: one row per year x school district (and 'All'): the year's cost
-- (KPB) divided by the inhabitants aged 0-17 and 0-22 on 1 January, the semantic layer's metrics
-- cost_per_inhabitant_0_17 / _0_22 per district (they span two semantic models, so Superset cannot
-- generate them on one dataset). Districts with cost for fewer than 5 children are suppressed, with
-- complementary suppression within the year (macro suppress_small_cells).

with

suppressed as (

    {{ suppress_small_cells(
        relation=ref('leader_cost_inhabitant_cells'),
        count_column='clients',
        value_columns=['clients', 'cost_dkk', 'cost_per_inhabitant_0_17_dkk', 'cost_per_inhabitant_0_22_dkk'],
        group_sets=[['cost_year']],
        order_by='school_district_name',
        threshold=5,
        passes=2
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
