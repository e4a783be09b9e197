with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_historicalpayment'), 'history_id', unique_in_raw=true) }}

),

renamed as (

    select
        history_id                                as payment_history_id,
        id                                        as payment_id,
        history_date                              as changed_at,
        history_type,
        history_user_id,
        paid                                      as is_paid,
        paid_date,
        {{ cast_money('paid_amount') }}           as paid_amount,
        {{ nullif_blank('saved_account_alias') }} as account_alias
    from source

)

select * from renamed
