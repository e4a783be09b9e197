-- KPB validation (DOMAIN.md step 5): in fct_ledger_reconciliation every row satisfies
-- ledger_total = attributed + unattributed (and each side equals the sum of its parts), and the table's
-- ledger total and posting count equal the whole ledger's: nothing dropped, nothing counted twice.
-- Returns the offending rows / totals.

with

rows_off as (

    select
        'row' as check_level,
        reconciliation_key as detail,
        ledger_total_dkk - attributed_dkk - unattributed_dkk as difference_dkk
    from {{ ref('fct_ledger_reconciliation') }}
    where ledger_total_dkk <> attributed_dkk + unattributed_dkk
       or attributed_dkk <> attributed_payment_dkk + attributed_in_house_dkk
       or unattributed_dkk <> duplicate_posting_dkk + credit_note_dkk + unknown_account_dkk + overhead_dkk
                             + unmatched_payment_voucher_dkk + in_house_without_volume_dkk + other_unattributed_dkk

),

mart as (

    select coalesce(sum(ledger_total_dkk), 0) as total_dkk, coalesce(sum(posting_count), 0) as postings
    from {{ ref('fct_ledger_reconciliation') }}

),

ledger as (

    select coalesce(sum(amount_dkk), 0) as total_dkk, count(*) as postings
    from {{ ref('stg_finance__ledger_postings') }}

),

totals_off as (

    select
        'total' as check_level,
        'mart vs ledger' as detail,
        mart.total_dkk - ledger.total_dkk as difference_dkk
    from mart
    cross join ledger
    where mart.total_dkk <> ledger.total_dkk
       or mart.postings <> ledger.postings

)

select * from rows_off
union all
select * from totals_off
