-- Materialised as a table: several marts read it (a view would be recomputed for each).
{{ config(materialized='table') }}

-- One row per OS2bos activity, with everything the marts slice it by: its schedule (one per activity),
-- appropriation and legal paragraph (mapped to Barnets Lov and the staircase via seed `paragraphs`),
-- case and client, municipality code, intervention (section info -> activity category -> seed), and the
-- "unit" that delivers it (provider_key: an OS2bos provider, the foster families paid as persons, an
-- in-house unit, or an unknown provider). Left joins: nothing is dropped.

with

activities as (

    select * from {{ ref('stg_os2bos__activities') }}

),

payment_schedules as (

    select * from {{ ref('stg_os2bos__payment_schedules') }}

),

appropriations as (

    select * from {{ ref('stg_os2bos__appropriations') }}

),

cases as (

    select * from {{ ref('stg_os2bos__cases') }}

),

sections as (

    select * from {{ ref('stg_os2bos__sections') }}

),

paragraphs as (

    select * from {{ ref('paragraphs') }}

),

section_infos as (

    select * from {{ ref('stg_os2bos__section_infos') }}

),

activity_categories as (

    select * from {{ ref('stg_os2bos__activity_categories') }}

),

activity_details as (

    select * from {{ ref('stg_os2bos__activity_details') }}

),

interventions as (

    select * from {{ ref('activity_category_interventions') }}

),

municipalities as (

    select
        stg.municipality_id,
        seed.municipality_code
    from {{ ref('stg_os2bos__municipalities') }} as stg
    left join {{ ref('municipalities') }} as seed
        on stg.municipality_name = seed.municipality_name

),

enriched as (

    select
        activities.activity_id,
        activities.appropriation_id,
        appropriations.case_id,
        cases.client_id,
        cases.paying_municipality_id                                   as municipality_id,
        municipalities.municipality_code,
        cases.school_district_id,
        cases.case_worker_user_id,

        appropriations.section_id,
        sections.paragraph                                             as paragraph_key,
        coalesce(paragraphs.barnets_lov_key, sections.paragraph)       as canonical_paragraph_key,
        paragraphs.intervention_group,
        coalesce(paragraphs.is_without_consent, false)                 as is_without_consent,

        activities.activity_details_id,
        activity_details.activity_code,
        activity_details.activity_details_name,
        activity_categories.activity_category_code,
        interventions.intervention_category,
        coalesce(interventions.staircase_step, paragraphs.staircase_step) as staircase_step,
        coalesce(interventions.is_placement, paragraphs.is_placement, false) as is_placement,
        interventions.placement_type,

        activities.activity_status,
        activities.activity_type,
        activities.start_date,
        activities.end_date,
        activities.appropriation_date,
        activities.modifies_activity_id,
        activities.service_provider_id,
        activities.created_at,
        activities.modified_at,

        payment_schedules.payment_schedule_id,
        payment_schedules.payment_type,
        payment_schedules.payment_frequency,
        payment_schedules.payment_cost_type,
        payment_schedules.payment_units,
        payment_schedules.payment_amount,
        payment_schedules.payment_rate_id,
        payment_schedules.recipient_type,
        payment_schedules.recipient_id,
        payment_schedules.is_fictive,
        coalesce(payment_schedules.recipient_type = 'INTERNAL', false) as is_in_house,

        -- The delivering unit (provider dimension key).
        case
            when payment_schedules.recipient_type = 'INTERNAL'
                then {{ dbt.concat(["'internal-'", "coalesce(payment_schedules.recipient_id, '?')"]) }}
            when activities.service_provider_id is not null
                then {{ dbt.concat(["'provider-'", dbt.cast('activities.service_provider_id', api.Column.translate_type('string'))]) }}
            when payment_schedules.recipient_type = 'PERSON' then 'foster-families'
            else 'unknown-provider'
        end                                                            as provider_key,

        -- Volume unit of the activity (KPB step 1).
        case
            when payment_schedules.recipient_type = 'INTERNAL' then 'hour'
            when payment_schedules.payment_frequency = 'DAILY' then 'care day'
            when payment_schedules.payment_frequency in ('WEEKLY', 'BIWEEKLY') then 'week'
            when payment_schedules.payment_frequency = 'MONTHLY' then 'month'
            else 'one-off'
        end                                                            as volume_unit

    from activities
    left join payment_schedules
        on activities.activity_id = payment_schedules.activity_id
    left join appropriations
        on activities.appropriation_id = appropriations.appropriation_id
    left join cases
        on appropriations.case_id = cases.case_id
    left join municipalities
        on cases.paying_municipality_id = municipalities.municipality_id
    left join sections
        on appropriations.section_id = sections.section_id
    left join paragraphs
        on sections.paragraph = paragraphs.paragraph_key
    left join activity_details
        on activities.activity_details_id = activity_details.activity_details_id
    left join section_infos
        on activities.activity_details_id = section_infos.activity_details_id
        and appropriations.section_id = section_infos.section_id
    left join activity_categories
        on section_infos.activity_category_id = activity_categories.activity_category_id
    left join interventions
        on activity_categories.activity_category_code = interventions.activity_category_code

)

select * from enriched
