with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_serviceprovider'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                       as service_provider_id,
        {{ nullif_blank('cvr_number') }}         as cvr_number,
        name                                     as service_provider_name,
        {{ nullif_blank('business_code') }}      as business_code,
        {{ nullif_blank('business_code_text') }} as business_code_text,
        {{ nullif_blank('street') }}             as street,
        {{ nullif_blank('street_number') }}      as street_number,
        {{ nullif_blank('zip_code') }}           as zip_code,
        {{ nullif_blank('post_district') }}      as post_district,
        {{ nullif_blank('status') }}             as provider_status,
        cast(vat_factor as decimal(5, 2))        as vat_factor,
        active                                   as is_active
    from source

)

select * from renamed
