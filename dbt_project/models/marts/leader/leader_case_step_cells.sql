{{ config(schema='intermediate', materialized='table') }}
-- A table, not a view: the agg_ model and every test of these cells read it (a view is recomputed for each).
-- Cells of the leaders' deadline compliance before suppression: case-processing step instances
-- (fct_case_steps) per year of the due date x jurisdiction x school district of the child (dim_client) x
-- process step, with margins ('All' districts, 'All' steps). Children are counted distinctly per cell.

with

steps as (

    select
        cast(extract(year from steps.due_date) as integer)          as due_year,
        steps.jurisdiction,
        coalesce(clients.school_district_name, 'Unknown')           as school_district_name,
        steps.process_step,
        steps.process_step_label,
        steps.client_id,
        steps.step_status,
        steps.is_deadline_missed
    from {{ ref('fct_case_steps') }} as steps
    left join {{ ref('dim_client') }} as clients
        on steps.client_id = clients.client_id

),

labels as (

    select jurisdiction, process_step, max(process_step_label) as process_step_label
    from steps
    group by jurisdiction, process_step

),

keyed as (

    select due_year, jurisdiction, school_district_name, process_step, client_id, step_status, is_deadline_missed
    from steps

    union all

    select due_year, jurisdiction, 'All', process_step, client_id, step_status, is_deadline_missed
    from steps

),

with_step_margin as (

    select * from keyed

    union all

    select due_year, jurisdiction, school_district_name, 'All', client_id, step_status, is_deadline_missed
    from keyed

),

cells as (

    select
        due_year,
        jurisdiction,
        school_district_name,
        process_step,
        count(distinct client_id)                                                        as children,
        count(*)                                                                         as steps,
        sum(case when step_status <> 'open_within_deadline' then 1 else 0 end)           as steps_with_outcome,
        sum(case when step_status = 'done_on_time' then 1 else 0 end)                    as steps_done_on_time,
        sum(case when step_status = 'done_late' then 1 else 0 end)                       as steps_done_late,
        sum(case when step_status = 'open_overdue' then 1 else 0 end)                    as steps_open_overdue,
        sum(case when step_status = 'not_done_case_closed' then 1 else 0 end)            as steps_not_done_case_closed,
        sum(case when is_deadline_missed then 1 else 0 end)                              as steps_deadline_missed
    from with_step_margin
    group by due_year, jurisdiction, school_district_name, process_step

)

select
    cells.due_year,
    cells.jurisdiction,
    cells.school_district_name,
    cells.process_step,
    coalesce(labels.process_step_label, 'All steps')                                as process_step_label,
    cast(cells.children as {{ dbt.type_bigint() }})                                 as children,
    cast(cells.steps as {{ dbt.type_bigint() }})                                    as steps,
    cast(cells.steps_with_outcome as {{ dbt.type_bigint() }})                       as steps_with_outcome,
    cast(cells.steps_done_on_time as {{ dbt.type_bigint() }})                       as steps_done_on_time,
    cast(cells.steps_done_late as {{ dbt.type_bigint() }})                          as steps_done_late,
    cast(cells.steps_open_overdue as {{ dbt.type_bigint() }})                       as steps_open_overdue,
    cast(cells.steps_not_done_case_closed as {{ dbt.type_bigint() }})               as steps_not_done_case_closed,
    cast(cells.steps_deadline_missed as {{ dbt.type_bigint() }})                    as steps_deadline_missed,
    cast(
        cast(cells.steps_done_on_time as decimal(18, 4)) / nullif(cells.steps_with_outcome, 0)
        as decimal(9, 4)
    )                                                                               as deadline_compliance
from cells
left join labels
    on cells.jurisdiction = labels.jurisdiction
    and cells.process_step = labels.process_step
