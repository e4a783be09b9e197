with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_internalpaymentrecipient'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id     as internal_payment_recipient_id,
        name   as internal_payment_recipient_name,
        active as is_active
    from source

)

select * from renamed
