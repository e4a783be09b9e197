with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_case_efforts'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id        as case_effort_id,
        case_id,
        effort_id
    from source

)

select * from renamed
