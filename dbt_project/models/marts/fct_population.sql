-- Population (denominators for cost per inhabitant): one row per municipality x school district x year x
-- age 0-22, from seed `population` (SAMPLE DATA; replace with Danmarks Statistik / SCB figures), for the
-- municipalities the warehouse holds cases of (dim_municipality): a denominator must cover the same
-- municipalities as the numerator. population_date is 1 January of the year.

with

population as (

    select seed.*
    from {{ ref('population') }} as seed
    inner join {{ ref('dim_municipality') }} as municipalities
        on seed.municipality_code = municipalities.municipality_code

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'municipality_code', "'|'", 'school_district_name', "'|'",
            dbt.cast('population_year', api.Column.translate_type('string')), "'|'",
            dbt.cast('age', api.Column.translate_type('string'))
        ])) }}                                                        as population_key,
        municipality_code,
        school_district_name,
        population_year,
        cast({{ dbt.dateadd('year', 'population_year - 2000', "cast('2000-01-01' as date)") }} as date) as population_date,
        age,
        {{ age_group('age') }}                                        as age_group,
        cast(population as integer)                                   as population,
        cast(case when age <= 17 then population else 0 end as integer) as population_0_17,
        cast(case when age <= 22 then population else 0 end as integer) as population_0_22
    from population

)

select * from final
