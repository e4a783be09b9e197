{#-
    The warehouse's reference date ("as of"): the dbt var `reference_date` (ISO date string) when set,
    else today's date. Used for stock-at-date figures, ages, "remaining" planned payments and the
    end of open intervals. Portable: a date literal or `current_date`.
-#}
{% macro reference_date() -%}
    {%- set value = var('reference_date', env_var('WAREHOUSE_REFERENCE_DATE', '')) -%}
    {%- if value -%}
        cast('{{ value }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}

{#- First day of the month of a date expression, as a date (portable via dbt.date_trunc). -#}
{% macro month_start(column) -%}
    cast({{ dbt.date_trunc('month', column) }} as date)
{%- endmacro %}

{#- Age group label of an age in whole years (the groups leaders report on: 0-5, 6-11, 12-17, 18-22, 23+). -#}
{% macro age_group(age) -%}
    case
        when {{ age }} is null then 'Unknown'
        when {{ age }} < 6 then '0-5'
        when {{ age }} < 12 then '6-11'
        when {{ age }} < 18 then '12-17'
        when {{ age }} <= 22 then '18-22'
        else '23+'
    end
{%- endmacro %}

{#-
    Age in completed years at `at_date` of someone born on `birth_date` (portable: year difference,
    minus one when the birthday has not yet been reached in that year).
-#}
{% macro age_in_years(birth_date, at_date) -%}
    (
        cast(extract(year from {{ at_date }}) as integer) - cast(extract(year from {{ birth_date }}) as integer)
        - case
            when cast(extract(month from {{ at_date }}) as integer) * 100 + cast(extract(day from {{ at_date }}) as integer)
               < cast(extract(month from {{ birth_date }}) as integer) * 100 + cast(extract(day from {{ birth_date }}) as integer)
            then 1 else 0
          end
    )
{%- endmacro %}
