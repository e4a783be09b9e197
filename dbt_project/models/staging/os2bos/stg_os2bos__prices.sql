with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_price'), 'variablerate_ptr_id', unique_in_raw=true) }}

),

renamed as (

    select
        variablerate_ptr_id as price_id,
        payment_schedule_id
    from source

)

select * from renamed
