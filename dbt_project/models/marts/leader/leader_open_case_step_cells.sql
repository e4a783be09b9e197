{{ config(schema='intermediate', materialized='table') }}
-- A table, not a view: the agg_ model and every test of these cells read it (a view is recomputed for each).
-- Cells of the leaders' open case-processing steps before suppression, as of the reference date: steps
-- open and due within var case_steps_near_deadline_days (fct_case_steps.is_open_near_deadline) or open
-- past their deadline, per jurisdiction x open status x school district x process step, with margins
-- ('All' districts, 'All' steps). Children are counted distinctly per cell.

with

open_steps as (

    select
        steps.jurisdiction,
        case when steps.step_status = 'open_overdue' then 'overdue' else 'due soon' end as open_status,
        coalesce(clients.school_district_name, 'Unknown')                            as school_district_name,
        steps.process_step,
        steps.client_id
    from {{ ref('fct_case_steps') }} as steps
    left join {{ ref('dim_client') }} as clients
        on steps.client_id = clients.client_id
    where steps.is_open_near_deadline or steps.step_status = 'open_overdue'

),

labels as (

    select jurisdiction, process_step, max(process_step_label) as process_step_label
    from {{ ref('fct_case_steps') }}
    group by jurisdiction, process_step

),

keyed as (

    select jurisdiction, open_status, school_district_name, process_step, client_id from open_steps
    union all
    select jurisdiction, open_status, 'All', process_step, client_id from open_steps

),

with_step_margin as (

    select * from keyed
    union all
    select jurisdiction, open_status, school_district_name, 'All', client_id from keyed

),

cells as (

    select jurisdiction, open_status, school_district_name, process_step,
           count(distinct client_id) as children, count(*) as steps
    from with_step_margin
    group by jurisdiction, open_status, school_district_name, process_step

)

select
    cells.jurisdiction,
    cells.open_status,
    cells.school_district_name,
    cells.process_step,
    coalesce(labels.process_step_label, 'All steps')      as process_step_label,
    cast(cells.children as {{ dbt.type_bigint() }})       as children,
    cast(cells.steps as {{ dbt.type_bigint() }})          as steps,
    {{ reference_date() }}                                as reference_date
from cells
left join labels
    on cells.jurisdiction = labels.jurisdiction
    and cells.process_step = labels.process_step
