with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_paymentschedule'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                    as payment_schedule_id,
        activity_id,
        payment_type,
        payment_frequency,
        payment_cost_type,
        cast(payment_units as decimal(18, 2)) as payment_units,
        {{ cast_money('payment_amount') }}    as payment_amount,
        payment_date,
        cast(payment_day_of_month as integer) as payment_day_of_month,
        payment_rate_id,
        recipient_type,
        recipient_id,
        recipient_name,
        payment_method,
        payment_method_details_id,
        fictive                               as is_fictive,
        payment_id                            as payment_reference_id
    from source

)

select * from renamed
