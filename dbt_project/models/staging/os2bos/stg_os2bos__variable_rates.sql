with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_variablerate'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id as variable_rate_id
    from source

)

select * from renamed
