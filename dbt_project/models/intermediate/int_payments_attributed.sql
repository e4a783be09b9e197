-- One row per OS2bos payment (planned or paid), attributed to its client (the child of the case) and to
-- an intervention: payment -> schedule -> activity -> appropriation -> case, and the activity's kind and
-- the appropriation's legal section -> section info -> activity category -> intervention (seed).
-- Left joins throughout: a payment that cannot be attributed stays visible (null attribution) instead of
-- being dropped; KPB requires unattributed cost to be reported, never silently lost.

with

payments as (

    select * from {{ ref('stg_os2bos__payments') }}

),

payment_schedules as (

    select * from {{ ref('stg_os2bos__payment_schedules') }}

),

activities as (

    select * from {{ ref('stg_os2bos__activities') }}

),

appropriations as (

    select * from {{ ref('stg_os2bos__appropriations') }}

),

cases as (

    select * from {{ ref('stg_os2bos__cases') }}

),

section_infos as (

    select * from {{ ref('stg_os2bos__section_infos') }}

),

activity_categories as (

    select * from {{ ref('stg_os2bos__activity_categories') }}

),

interventions as (

    select * from {{ ref('activity_category_interventions') }}

),

attributed as (

    select
        payments.payment_id,
        payments.payment_schedule_id,
        payment_schedules.activity_id,
        activities.appropriation_id,
        appropriations.case_id,
        cases.client_id,

        appropriations.section_id,
        activities.activity_details_id,
        section_infos.section_info_id,
        section_infos.activity_category_id,
        activity_categories.activity_category_code,
        interventions.intervention_category,
        interventions.staircase_step,
        interventions.is_placement,
        interventions.placement_type,
        interventions.intervention_category is not null as is_attributed_to_intervention,

        activities.activity_status,
        activities.activity_type,
        activities.service_provider_id,
        payment_schedules.payment_type,
        payments.recipient_type,
        payments.payment_method,
        payments.account_string,

        payments.is_paid,
        payments.planned_date,
        payments.planned_amount,
        payments.paid_date,
        payments.paid_amount,

        -- OS2bos reporting rule (DOMAIN.md): paid amount on paid date once paid, else the plan.
        case when payments.is_paid then payments.paid_date else payments.planned_date end
            as reporting_date,
        case when payments.is_paid then payments.paid_amount else payments.planned_amount end
            as reporting_amount

    from payments
    left join payment_schedules
        on payments.payment_schedule_id = payment_schedules.payment_schedule_id
    left join activities
        on payment_schedules.activity_id = activities.activity_id
    left join appropriations
        on activities.appropriation_id = appropriations.appropriation_id
    left join cases
        on appropriations.case_id = cases.case_id
    left join section_infos
        on activities.activity_details_id = section_infos.activity_details_id
        and appropriations.section_id = section_infos.section_id
    left join activity_categories
        on section_infos.activity_category_id = activity_categories.activity_category_id
    left join interventions
        on activity_categories.activity_category_code = interventions.activity_category_code

)

select * from attributed
