-- Leader-facing effect: cases whose latest outcome assessment is a follow-up, per year of that assessment x
-- school district x breakdown ('Intervention category' or 'Provider') x value, with margins ('All'): moved
-- down, stayed on or moved up the intervention staircase since the baseline, the share moved down (as the
-- semantic layer's share_moved_down_staircase) and the average staircase and scaling-step change. Cells
-- about fewer than 5 children are suppressed, with complementary suppression along districts and values.

with

suppressed as (

    {{ suppress_small_cells(
        relation=ref('leader_outcome_cells'),
        count_column='children',
        value_columns=['children', 'cases', 'cases_moved_down', 'cases_same_step', 'cases_moved_up',
                       'share_moved_down', 'average_staircase_change', 'average_scaling_change'],
        group_sets=[['assessed_year', 'breakdown', 'school_district_name'], ['assessed_year', 'breakdown', 'breakdown_value']],
        order_by='school_district_name, breakdown_value',
        threshold=5,
        passes=4
    ) }}

)

select
    *,
    case
        when suppression_reason = 'primary' then '<5'
        when is_suppressed then 'hidden'
        else cast(cases as {{ dbt.type_string() }})
    end as cases_shown
from suppressed
