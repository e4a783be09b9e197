-- Interventions: one row per intervention category of seed activity_category_interventions, plus
-- 'Unclassified' for cost that cannot be attributed to one. Carries the staircase step, placement type
-- and group, the activity category codes and the usual volume unit (KPB step 1).

with

seed as (

    select * from {{ ref('activity_category_interventions') }}

),

categories as (

    select
        intervention_category,
        min(staircase_step)                                                   as staircase_step,
        {{ dbt.bool_or('is_placement') }}                                     as is_placement,
        min(placement_type)                                                   as placement_type,
        {{ dbt.listagg('activity_category_code', "', '", "order by activity_category_code") }} as activity_category_codes
    from seed
    group by intervention_category

),

volume_units as (

    select
        intervention_category,
        volume_unit,
        row_number() over (partition by intervention_category order by count(*) desc, volume_unit) as unit_rank
    from {{ ref('int_activities_enriched') }}
    where intervention_category is not null
    group by intervention_category, volume_unit

),

steps as (

    select effort_step_number, effort_step_name from {{ ref('stg_os2bos__effort_steps') }}

),

classified as (

    select
        categories.intervention_category,
        cast(categories.staircase_step as integer)                         as staircase_step,
        steps.effort_step_name                                             as staircase_step_name,
        categories.is_placement,
        categories.placement_type,
        case
            when not categories.is_placement then 'not a placement'
            when categories.placement_type = 'family-based'
                 and categories.intervention_category like '%network%' then 'network'
            when categories.placement_type = 'family-based' then 'family-based'
            when categories.placement_type = 'institution' then 'institution'
            else 'other placement'
        end                                                                as placement_group,
        categories.activity_category_codes,
        coalesce(volume_units.volume_unit, 'month')                        as volume_unit
    from categories
    left join volume_units
        on categories.intervention_category = volume_units.intervention_category
        and volume_units.unit_rank = 1
    left join steps
        on categories.staircase_step = steps.effort_step_number

),

final as (

    select * from classified
    union all
    select
        'Unclassified', cast(null as integer), cast(null as {{ api.Column.translate_type('string') }}), false,
        cast(null as {{ api.Column.translate_type('string') }}), 'not a placement',
        cast(null as {{ api.Column.translate_type('string') }}), 'month'

)

select * from final
