-- Stored, since several marts read it (a view would be recomputed for each), and incremental: each
-- night only new and changed payments are written (macros/incremental_by_fingerprint.sql).
{{ config(
    materialized='incremental',
    unique_key='payment_id',
    post_hook="{{ delete_rows_missing_from(ref('stg_os2bos__payments'), 'payment_id') }}",
) }}

-- One row per OS2bos payment (planned or paid), attributed to its client (the child of the case) and to
-- an intervention via its activity (int_activities_enriched: schedule -> activity -> appropriation ->
-- case, and the activity's kind and legal section -> section info -> activity category -> seed).
-- Left joins throughout: a payment that cannot be attributed stays visible (null attribution) instead of
-- being dropped; KPB requires unattributed cost to be reported, never silently lost.

with

payments as (

    select * from {{ ref('stg_os2bos__payments') }}

),

payment_schedules as (

    select payment_schedule_id, activity_id from {{ ref('stg_os2bos__payment_schedules') }}

),

activities as (

    select * from {{ ref('int_activities_enriched') }}

),

attributed as (

    select
        payments.payment_id,
        payments.payment_schedule_id,
        payment_schedules.activity_id,
        activities.appropriation_id,
        activities.case_id,
        activities.client_id,
        activities.municipality_id,
        activities.municipality_code,
        activities.school_district_id,

        activities.section_id,
        activities.paragraph_key,
        activities.activity_details_id,
        activities.activity_category_code,
        activities.intervention_category,
        activities.staircase_step,
        activities.is_placement,
        activities.placement_type,
        activities.intervention_category is not null as is_attributed_to_intervention,

        activities.activity_status,
        activities.activity_type,
        activities.modifies_activity_id,
        activities.service_provider_id,
        activities.provider_key,
        activities.volume_unit,
        activities.payment_units,
        activities.payment_type,
        activities.payment_frequency,
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

)

{{ select_new_or_changed('attributed', 'payment_id') }}
