-- Stored, since several marts read it (a view would be recomputed for each), and incremental: each
-- night only new and changed postings are written (macros/incremental_by_fingerprint.sql). Postings gone
-- are found against the raw table, which holds the same posting ids as the staging view without the
-- view's dedupe window (0.7 s against 3.1 s at national scale).
{{ config(
    materialized='incremental',
    unique_key='posting_id',
    post_hook="{{ delete_rows_missing_from(source('finance', 'ledger_postings'), 'posting_id') }}",
) }}

-- One row per general-ledger posting, classified for the KPB reconciliation (DOMAIN.md step 5):
-- every posting is either attributed to children (a payment posting matched by voucher 'BOS<payment_id>',
-- or in-house salaries allocated by hours) or reported in an unattributed category. Nothing is dropped.
--
-- Precedence (first match wins):
--   unknown_account         account string not in seed account_interventions (misposting)
--   credit_note             voucher 'KRE...' (reversal of a duplicate payment posting)
--   duplicate_posting       second or later posting of the same 'BOS' voucher
--   attributed_payment      first posting of a 'BOS' voucher matched to a paid OS2bos payment
--   unmatched_payment_voucher  'BOS' voucher with no paid payment of that id
--   attributed_in_house     'LOEN' salaries on the in-house account in a month with in-house hours
--   in_house_without_volume 'LOEN' salaries in a month without in-house hours
--   overhead                voucher 'FIN...' (shared costs: supervision, consultants)
--   other_unattributed      anything else

with

postings as (

    select * from {{ ref('stg_finance__ledger_postings') }}

),

accounts as (

    select account_string, has_in_house_unit from {{ ref('account_interventions') }}

),

paid_payments as (

    select
        payment_id,
        -- the voucher a payment is posted with: 'BOS' || payment_id (compared as text, no parsing)
        {{ dbt.concat(["'BOS'", dbt.cast('payment_id', api.Column.translate_type('string'))]) }} as payment_voucher,
        paid_date,
        client_id,
        appropriation_id
    from {{ ref('int_payments_attributed') }}
    where is_paid

),

in_house_months as (

    select distinct municipality_code, cost_month
    from {{ ref('int_in_house_cost_allocated') }}
    where unit_salaries_dkk is not null

),

parsed as (

    select
        postings.*,
        {{ month_start('postings.posting_date') }} as posting_month,
        row_number() over (
            partition by postings.voucher_number
            order by postings.posting_date, postings.posting_id
        ) as voucher_posting_rank
    from postings

),

classified as (

    select
        parsed.posting_id,
        parsed.voucher_number,
        parsed.posting_date,
        parsed.posting_month,
        parsed.account_string,
        parsed.main_account_number,
        parsed.activity_code,
        parsed.municipality_code,
        parsed.posting_text,
        parsed.amount_dkk,
        paid_payments.payment_id                                   as matched_payment_id,
        paid_payments.client_id                                    as matched_client_id,
        paid_payments.appropriation_id                             as matched_appropriation_id,
        paid_payments.paid_date                                    as matched_paid_date,
        accounts.account_string is not null                        as is_known_account,
        case
            when accounts.account_string is null then 'unknown_account'
            when parsed.voucher_number like 'KRE%' then 'credit_note'
            when parsed.voucher_number like 'BOS%' and parsed.voucher_posting_rank > 1 then 'duplicate_posting'
            when parsed.voucher_number like 'BOS%' and paid_payments.payment_id is not null then 'attributed_payment'
            when parsed.voucher_number like 'BOS%' then 'unmatched_payment_voucher'
            when parsed.voucher_number like 'LOEN%' and accounts.has_in_house_unit
                 and in_house_months.cost_month is not null then 'attributed_in_house'
            when parsed.voucher_number like 'LOEN%' then 'in_house_without_volume'
            when parsed.voucher_number like 'FIN%' then 'overhead'
            else 'other_unattributed'
        end                                                        as reconciliation_category
    from parsed
    left join accounts
        on parsed.account_string = accounts.account_string
    left join paid_payments
        on parsed.voucher_number = paid_payments.payment_voucher
    left join in_house_months
        on parsed.municipality_code = in_house_months.municipality_code
        and parsed.posting_month = in_house_months.cost_month

),

final as (

    select
        classified.*,
        reconciliation_category in ('attributed_payment', 'attributed_in_house') as is_attributed,
        -- Timing difference: attributed payment posted in another month than the payment was paid.
        coalesce(
            reconciliation_category = 'attributed_payment'
            and posting_month <> {{ month_start('matched_paid_date') }},
            false
        )                                                          as is_timing_difference
    from classified

)

{{ select_new_or_changed('final', 'posting_id') }}
