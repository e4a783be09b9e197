-- Calendar: one row per day from 2015-01-01 to 2035-12-31 (the MetricFlow time spine's range).

with

days as (

    select date_day from {{ ref('metricflow_time_spine') }}

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as integer)                         as calendar_year,
        cast(extract(quarter from date_day) as integer)                      as calendar_quarter,
        cast(extract(month from date_day) as integer)                        as calendar_month,
        cast(extract(day from date_day) as integer)                          as day_of_month,
        cast(extract(isodow from date_day) as integer)                       as iso_day_of_week,
        {{ month_start('date_day') }}                                        as month_start,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date)               as year_start,
        cast({{ dbt.last_day('date_day', 'month') }} as date) = date_day     as is_month_end,
        cast(extract(month from date_day) as integer) = 12
            and cast(extract(day from date_day) as integer) = 31              as is_year_end,
        date_day <= {{ reference_date() }}                                   as is_on_or_before_reference_date
    from days

)

select * from final
