-- Leader-facing open case-processing steps as of the reference date: steps open and due within 14 days
-- (var case_steps_near_deadline_days; e.g. investigations near their deadline) or open past their deadline,
-- per jurisdiction x open status ('due soon', 'overdue') x school district x process step, with margins
-- ('All'). Cells about fewer than 5 children are suppressed, with complementary suppression along
-- districts and steps (macro suppress_small_cells); steps_shown is what a dashboard displays.

with

suppressed as (

    {{ suppress_small_cells(
        relation=ref('leader_open_case_step_cells'),
        count_column='children',
        value_columns=['children', 'steps'],
        group_sets=[['jurisdiction', 'open_status', 'school_district_name'], ['jurisdiction', 'open_status', 'process_step']],
        order_by='school_district_name, process_step',
        threshold=5,
        passes=4
    ) }}

)

select
    *,
    case
        when suppression_reason = 'primary' then '<5'
        when is_suppressed then 'hidden'
        else cast(steps as {{ dbt.type_string() }})
    end as steps_shown
from suppressed
