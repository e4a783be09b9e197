with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_payment'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                                         as payment_id,
        payment_schedule_id,
        date                                       as planned_date,
        {{ cast_money('amount') }}                 as planned_amount,
        paid                                       as is_paid,
        paid_date,
        {{ cast_money('paid_amount') }}            as paid_amount,
        recipient_type,
        recipient_id,
        recipient_name,
        payment_method,
        {{ nullif_blank('saved_account_string') }} as account_string,
        {{ nullif_blank('saved_account_alias') }}  as account_alias,
        {{ nullif_blank('note') }}                 as note
    from source

)

select * from renamed
