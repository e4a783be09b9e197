with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_paymentdateexclusion'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id   as payment_date_exclusion_id,
        date as excluded_date
    from source

)

select * from renamed
