-- Placement spells: one row per GRANTED activity whose intervention is a placement outside the home
-- (seed activity_category_interventions.is_placement, or a placement paragraph). EXPECTED adjustments are
-- not separate spells (they re-price a granted one). Start and end come from the activity; open-ended
-- spells run to the reference date. Carries what mix (placement_group), external share (is_purchased: not in-house; is_private_provider: bought from a company),
-- inflow (start_date), outflow (end_date) and stock at a date (start_date <= d <= end_date or open) need;
-- fct_placement_month_ends has the stock per month end.

with

activities as (

    select * from {{ ref('int_activities_enriched') }}
    where is_placement
      and activity_status = 'GRANTED'
      and start_date is not null

),

interventions as (

    select intervention_category, placement_group from {{ ref('dim_intervention') }}

),

providers as (

    select provider_key, provider_kind, is_purchased from {{ ref('dim_provider') }}

),

clients as (

    select client_id, birth_date from {{ ref('int_clients') }}

),

final as (

    select
        activities.activity_id                                                    as placement_id,
        activities.appropriation_id,
        activities.case_id,
        activities.client_id,
        coalesce(activities.municipality_code, 'unknown')                         as municipality_code,
        coalesce(activities.intervention_category, 'Unclassified')                as intervention_category,
        coalesce(activities.placement_type, 'unknown')                            as placement_type,
        coalesce(interventions.placement_group, 'other placement')                as placement_group,
        coalesce(interventions.placement_group = 'network', false)                as is_network_placement,
        activities.is_without_consent,
        activities.paragraph_key,
        activities.canonical_paragraph_key,
        cast(activities.staircase_step as integer)                                as staircase_step,
        activities.provider_key,
        coalesce(providers.provider_kind, 'unknown')                              as provider_kind,
        coalesce(providers.is_purchased, true)                                    as is_purchased,
        coalesce(providers.provider_kind, 'unknown') in ('company', 'unknown')     as is_private_provider,
        activities.start_date,
        activities.end_date,
        case
            when activities.end_date is null or activities.end_date > {{ reference_date() }}
            then {{ reference_date() }}
            else activities.end_date
        end                                                                       as observed_end_date,
        cast(
            {{ dbt.datediff('activities.start_date',
                "case when activities.end_date is null or activities.end_date > " ~ reference_date() ~ " then " ~ reference_date() ~ " else activities.end_date end",
                'day') }} + 1
            as integer)                                                           as placement_days,
        activities.start_date <= {{ reference_date() }}
            and (activities.end_date is null or activities.end_date >= {{ reference_date() }}) as is_active_at_reference_date,
        activities.end_date is not null and activities.end_date <= {{ reference_date() }}  as has_ended,
        {{ age_in_years('clients.birth_date', 'activities.start_date') }}         as age_at_start,
        {{ age_group(age_in_years('clients.birth_date', 'activities.start_date')) }} as age_group_at_start
    from activities
    left join interventions
        on activities.intervention_category = interventions.intervention_category
    left join providers
        on activities.provider_key = providers.provider_key
    left join clients
        on activities.client_id = clients.client_id

)

select * from final
