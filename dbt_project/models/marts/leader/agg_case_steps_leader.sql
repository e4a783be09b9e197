-- Leader-facing deadline compliance: case-processing steps per year of the due date x jurisdiction x
-- school district x process step, with margins ('All'): steps done on time, late, overdue, ended
-- unfinished, and the compliance rate (done on time / steps with a known deadline outcome, as the
-- semantic layer's metric deadline_compliance). SE decision_executed rows are the decisions not executed
-- within 3 months; DK immediate_effort_closed rows the immediate efforts. Cells about fewer than 5
-- children are suppressed, with complementary suppression along districts and steps.

with

suppressed as (

    {{ suppress_small_cells(
        relation=ref('leader_case_step_cells'),
        count_column='children',
        value_columns=['children', 'steps', 'steps_with_outcome', 'steps_done_on_time', 'steps_done_late',
                       'steps_open_overdue', 'steps_not_done_case_closed', 'steps_deadline_missed',
                       'deadline_compliance'],
        group_sets=[['due_year', 'jurisdiction', 'school_district_name'], ['due_year', 'jurisdiction', 'process_step']],
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
        else cast(children as {{ dbt.type_string() }})
    end as children_shown
from suppressed
