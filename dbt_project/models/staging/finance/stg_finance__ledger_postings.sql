with

source as (

    {{ dedupe_latest_load(source('finance', 'ledger_postings'), 'posting_id') }}

),

renamed as (

    select
        posting_id,
        voucher_number,
        posting_date,
        account_string,
        {{ dbt.split_part('account_string', "'-'", 1) }} as main_account_number,
        activity_code,
        posting_text,
        {{ cast_money('amount') }}                       as amount_dkk,
        municipality_code,
        source_file
    from source

)

select * from renamed
