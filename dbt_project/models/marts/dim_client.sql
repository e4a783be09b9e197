-- Clients (children): one row per pseudonymised client_id. Only birth year, age and age group at the
-- reference date are exposed (never the birth date), with sex, municipality and school district of the
-- client's latest case.

with

clients as (

    select * from {{ ref('int_clients') }}

),

final as (

    select
        client_id,
        cast(extract(year from birth_date) as integer)                          as birth_year,
        {{ age_in_years('birth_date', reference_date()) }}                      as age_at_reference_date,
        {{ age_group(age_in_years('birth_date', reference_date())) }}           as age_group,
        coalesce(sex, 'U')                                                      as sex,
        coalesce(municipality_code, 'unknown')                                  as municipality_code,
        school_district_id,
        coalesce(school_district_name, 'Unknown')                               as school_district_name,
        latest_case_id,
        case_count,
        first_case_created_date,
        current_staircase_step,
        current_scaling_step,
        {{ reference_date() }}                                                  as reference_date
    from clients

)

select * from final
