-- Delivering units ("unit" in KPB): one row per provider_key. OS2bos service providers
-- ('provider-<id>'), in-house units ('internal-<recipient id>', cost = salaries), the foster families
-- paid as persons ('foster-families', one row: persons are pseudonymised and not reported one by one)
-- and 'unknown-provider' (companies paid without a registered provider).

with

providers as (

    select * from {{ ref('stg_os2bos__service_providers') }}

),

internal_units as (

    select * from {{ ref('stg_os2bos__internal_payment_recipients') }}

),

final as (

    select
        {{ dbt.concat(["'provider-'", dbt.cast('service_provider_id', api.Column.translate_type('string'))]) }} as provider_key,
        service_provider_id,
        service_provider_name                                         as provider_name,
        'company'                                                     as provider_kind,
        cvr_number,
        business_code_text                                            as business_type,
        zip_code,
        vat_factor,
        true                                                          as is_purchased,
        is_active
    from providers

    union all

    select
        {{ dbt.concat(["'internal-'", dbt.cast('internal_payment_recipient_id', api.Column.translate_type('string'))]) }},
        cast(null as {{ dbt.type_bigint() }}),
        internal_payment_recipient_name,
        'in-house',
        cast(null as {{ api.Column.translate_type('string') }}),
        'In-house unit',
        cast(null as {{ api.Column.translate_type('string') }}),
        cast(100 as decimal(5, 2)),
        false,
        is_active
    from internal_units

    union all

    select
        'foster-families', cast(null as {{ dbt.type_bigint() }}), 'Foster families (paid as persons)', 'foster families',
        cast(null as {{ api.Column.translate_type('string') }}), 'Foster family',
        cast(null as {{ api.Column.translate_type('string') }}), cast(100 as decimal(5, 2)), true, true

    union all

    select
        'unknown-provider', cast(null as {{ dbt.type_bigint() }}), 'Unknown provider', 'unknown',
        cast(null as {{ api.Column.translate_type('string') }}), cast(null as {{ api.Column.translate_type('string') }}),
        cast(null as {{ api.Column.translate_type('string') }}), cast(100 as decimal(5, 2)), true, true

)

select * from final
