-- One row per calendar month from 2015-01 to 2035-12 (first and last day), derived from the day spine.

with

days as (

    select date_day from {{ ref('metricflow_time_spine') }}

),

final as (

    select
        {{ month_start('date_day') }}                              as month_start,
        max(date_day)                                              as month_end,
        count(*)                                                   as days_in_month
    from days
    group by {{ month_start('date_day') }}

)

select * from final
