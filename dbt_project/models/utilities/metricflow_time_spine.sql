-- Day-grain time spine MetricFlow needs to join and fill time series: 2015-01-01 through 2035-12-31
-- (dbt's date_spine excludes its end date, hence 2036-01-01).

with

days as (

    {{ dbt.date_spine('day', dbt.date(2015, 1, 1), dbt.date(2036, 1, 1)) }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
