with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_municipality'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id     as municipality_id,
        name   as municipality_name,
        active as is_active
    from source

)

select * from renamed
