-- Case-process events, typed and in English: one row per live event (the latest version of each id;
-- tombstones and rows flagged deleted excluded). Times are UTC timestamps without a zone.

{#-
    dlt lands `timestamp` columns as TIMESTAMP WITH TIME ZONE in DuckDB. A plain cast of such a value
    would follow the session's time zone, so it is converted to UTC explicitly. `timezone('UTC', x)` is
    DuckDB (and PostgreSQL) syntax, isolated here; a loader that lands naive UTC timestamps gets a cast.
-#}
{%- set zoned = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(source('case_events', 'events')) -%}
        {%- if 'time zone' in column.data_type | lower -%}
            {%- do zoned.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}
{%- set utc = {} -%}
{%- for column in ['occurred_at', 'updated_at'] -%}
    {%- do utc.update({column: "timezone('UTC', " ~ column ~ ")" if column in zoned else 'cast(' ~ column ~ ' as timestamp)'}) -%}
{%- endfor %}

with

source as (

    select
        events.*,
        row_number() over (
            partition by events.id
            order by events.updated_at desc, events._dlt_load_id desc
        ) as version_rank
    from {{ source('case_events', 'events') }} as events

),

renamed as (

    select
        id                                             as event_id,
        type                                           as event_type,
        person_id,
        pseudonym_key_version,
        birth_date,
        sex,
        case_reference,
        jurisdiction,
        municipality_code,
        caseworker,
        team                                           as team_code,
        {{ utc['occurred_at'] }}                       as occurred_at,
        {{ utc['updated_at'] }}                        as updated_at,
        details__related_event_id                      as related_event_id,
        details__reporter                              as reporter,
        details__urgent                                as is_urgent,
        details__outcome                               as outcome,
        cast(details__staircase_step as integer)       as staircase_step,
        cast(details__scaling_step as integer)         as scaling_step,
        details__goal_reached                          as goal_reached,
        details__plan_type                             as plan_type,
        cast(details__follow_up_number as integer)     as follow_up_number,
        details__reason                                as closure_reason
    from source
    where version_rank = 1
      and not coalesce(deleted, false)

)

select * from renamed
