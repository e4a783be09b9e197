with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_paymentmethoddetails'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                             as payment_method_details_id,
        {{ nullif_blank('tax_card') }} as tax_card,
        active                         as is_active
    from source

)

select * from renamed
