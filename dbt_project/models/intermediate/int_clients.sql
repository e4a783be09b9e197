-- One row per client (child, pseudonymised person_id): attributes of the client's latest case (by
-- creation), the birth date and sex derived before landing, and the client's municipality code and
-- school district. Basis of dim_client and of the client slices of the cost marts.

with

cases as (

    select
        cases.*,
        row_number() over (partition by cases.client_id order by cases.created_at desc, cases.case_id desc)
            as recency_rank,
        count(*) over (partition by cases.client_id)  as case_count,
        min(cases.created_at) over (partition by cases.client_id) as first_case_created_at
    from {{ ref('stg_os2bos__cases') }} as cases
    where cases.client_id is not null

),

municipalities as (

    select stg.municipality_id, stg.municipality_name, seed.municipality_code
    from {{ ref('stg_os2bos__municipalities') }} as stg
    left join {{ ref('municipalities') }} as seed
        on stg.municipality_name = seed.municipality_name

),

final as (

    select
        cases.client_id,
        cases.case_id                                         as latest_case_id,
        cases.case_count,
        cast(cases.first_case_created_at as date)             as first_case_created_date,
        cases.birth_date,
        cases.sex,
        cases.paying_municipality_id                          as municipality_id,
        municipalities.municipality_code,
        municipalities.municipality_name,
        cases.school_district_id,
        districts.school_district_name,
        cases.case_worker_user_id,
        cases.target_group_id,
        effort_steps.effort_step_number                       as current_staircase_step,
        cases.scaling_step                                    as current_scaling_step
    from cases
    left join municipalities
        on cases.paying_municipality_id = municipalities.municipality_id
    left join {{ ref('stg_os2bos__school_districts') }} as districts
        on cases.school_district_id = districts.school_district_id
    left join {{ ref('stg_os2bos__effort_steps') }} as effort_steps
        on cases.effort_step_id = effort_steps.effort_step_id
    where cases.recency_rank = 1

)

select * from final
