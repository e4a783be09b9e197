-- Leader-facing cost per client by age group: one row per year x school district x age group, with
-- margins ('All'). Cells about fewer than 5 children are suppressed, with complementary suppression along
-- districts and age groups (macro suppress_small_cells); clients_shown carries what a dashboard displays
-- ('<5' for a primary suppressed cell, 'hidden' for a complementary one).

with

suppressed as (

    {{ suppress_small_cells(
        relation=ref('leader_cost_age_group_cells'),
        count_column='clients',
        value_columns=['clients', 'cost_dkk', 'cost_per_client_dkk'],
        group_sets=[['cost_year', 'school_district_name'], ['cost_year', 'age_group']],
        order_by='school_district_name, age_group',
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
