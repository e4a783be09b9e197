-- KPB validation (DOMAIN.md step 5): one row per municipality x account string x month (posting month)
-- in which the ledger or the KPB client cost has an amount.
--   ledger_total_dkk = attributed_dkk + unattributed_dkk, exactly (test assert_ledger_reconciliation_balances);
--   attributed_dkk   = attributed_payment_dkk (postings matched to a paid payment by voucher BOS<payment_id>)
--                    + attributed_in_house_dkk (salaries allocated to children by hours);
--   unattributed_dkk = duplicate postings + credit notes + unknown accounts + overhead (FIN) + unmatched
--                      payment vouchers + in-house salaries without volume + other; reported, never dropped.
-- Bridge to the client cost: client_cost_dkk is fct_client_cost's cost booked on the account in the month
-- (purchased by the payment's account and paid month, in-house on the in-house account);
-- attributed_dkk - client_cost_dkk is the timing difference (late postings, paid but not yet posted,
-- payments posted on another account). timing_difference_dkk is the part of attributed_payment_dkk
-- posted in another month than the payment was paid.

with

postings as (

    select
        classified.*,
        coalesce(classified.municipality_code, 'unknown')  as municipality_key,
        coalesce(classified.account_string, 'unknown')     as account_key
    from {{ ref('int_ledger_postings_classified') }} as classified

),

ledger as (

    select
        municipality_key                                                                     as municipality_code,
        account_key                                                                          as account_string,
        posting_month                                                                        as reconciliation_month,
        sum(amount_dkk)                                                                      as ledger_total_dkk,
        count(*)                                                                             as posting_count,
        sum(case when reconciliation_category = 'attributed_payment' then amount_dkk else 0 end) as attributed_payment_dkk,
        sum(case when reconciliation_category = 'attributed_in_house' then amount_dkk else 0 end) as attributed_in_house_dkk,
        sum(case when reconciliation_category = 'duplicate_posting' then amount_dkk else 0 end) as duplicate_posting_dkk,
        sum(case when reconciliation_category = 'credit_note' then amount_dkk else 0 end)    as credit_note_dkk,
        sum(case when reconciliation_category = 'unknown_account' then amount_dkk else 0 end) as unknown_account_dkk,
        sum(case when reconciliation_category = 'overhead' then amount_dkk else 0 end)       as overhead_dkk,
        sum(case when reconciliation_category = 'unmatched_payment_voucher' then amount_dkk else 0 end) as unmatched_payment_voucher_dkk,
        sum(case when reconciliation_category = 'in_house_without_volume' then amount_dkk else 0 end) as in_house_without_volume_dkk,
        sum(case when reconciliation_category = 'other_unattributed' then amount_dkk else 0 end) as other_unattributed_dkk,
        sum(case when is_timing_difference then amount_dkk else 0 end)                       as timing_difference_dkk
    from postings
    group by municipality_key, account_key, posting_month

),

client_cost as (

    select
        coalesce(municipality_code, 'unknown')             as municipality_code,
        coalesce(account_string, 'unknown')                as account_string,
        {{ month_start('paid_date') }}                     as reconciliation_month,
        sum(paid_amount)                                   as client_cost_dkk
    from {{ ref('int_payments_attributed') }}
    where is_paid
    group by coalesce(municipality_code, 'unknown'), coalesce(account_string, 'unknown'), {{ month_start('paid_date') }}

    union all

    select
        coalesce(allocated.municipality_code, 'unknown'),
        accounts.account_string,
        allocated.cost_month,
        sum(allocated.in_house_cost_dkk)
    from {{ ref('int_in_house_cost_allocated') }} as allocated
    cross join (
        select min(account_string) as account_string
        from {{ ref('account_interventions') }}
        where has_in_house_unit
    ) as accounts
    where allocated.unit_salaries_dkk is not null
    group by coalesce(allocated.municipality_code, 'unknown'), accounts.account_string, allocated.cost_month

),

client_cost_summed as (

    select municipality_code, account_string, reconciliation_month, sum(client_cost_dkk) as client_cost_dkk
    from client_cost
    group by municipality_code, account_string, reconciliation_month

),

keys as (

    select municipality_code, account_string, reconciliation_month from ledger
    union
    select municipality_code, account_string, reconciliation_month from client_cost_summed

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "coalesce(keys.municipality_code, '')", "'|'", "coalesce(keys.account_string, '')", "'|'",
            dbt.cast('keys.reconciliation_month', api.Column.translate_type('string'))
        ])) }}                                                                          as reconciliation_key,
        coalesce(keys.municipality_code, 'unknown')                                     as municipality_code,
        coalesce(keys.account_string, 'unknown')                                        as account_string,
        keys.reconciliation_month,
        cast(extract(year from keys.reconciliation_month) as integer)                   as reconciliation_year,
        cast(coalesce(ledger.ledger_total_dkk, 0) as decimal(18, 2))                    as ledger_total_dkk,
        cast(coalesce(ledger.attributed_payment_dkk, 0) + coalesce(ledger.attributed_in_house_dkk, 0) as decimal(18, 2)) as attributed_dkk,
        cast(coalesce(ledger.attributed_payment_dkk, 0) as decimal(18, 2))              as attributed_payment_dkk,
        cast(coalesce(ledger.attributed_in_house_dkk, 0) as decimal(18, 2))             as attributed_in_house_dkk,
        cast(
            coalesce(ledger.duplicate_posting_dkk, 0) + coalesce(ledger.credit_note_dkk, 0)
            + coalesce(ledger.unknown_account_dkk, 0) + coalesce(ledger.overhead_dkk, 0)
            + coalesce(ledger.unmatched_payment_voucher_dkk, 0) + coalesce(ledger.in_house_without_volume_dkk, 0)
            + coalesce(ledger.other_unattributed_dkk, 0)
            as decimal(18, 2))                                                          as unattributed_dkk,
        cast(coalesce(ledger.duplicate_posting_dkk, 0) as decimal(18, 2))               as duplicate_posting_dkk,
        cast(coalesce(ledger.credit_note_dkk, 0) as decimal(18, 2))                     as credit_note_dkk,
        cast(coalesce(ledger.unknown_account_dkk, 0) as decimal(18, 2))                 as unknown_account_dkk,
        cast(coalesce(ledger.overhead_dkk, 0) as decimal(18, 2))                        as overhead_dkk,
        cast(coalesce(ledger.unmatched_payment_voucher_dkk, 0) as decimal(18, 2))       as unmatched_payment_voucher_dkk,
        cast(coalesce(ledger.in_house_without_volume_dkk, 0) as decimal(18, 2))         as in_house_without_volume_dkk,
        cast(coalesce(ledger.other_unattributed_dkk, 0) as decimal(18, 2))              as other_unattributed_dkk,
        cast(coalesce(ledger.timing_difference_dkk, 0) as decimal(18, 2))               as timing_difference_dkk,
        cast(coalesce(client_cost_summed.client_cost_dkk, 0) as decimal(18, 2))         as client_cost_dkk,
        cast(
            coalesce(ledger.attributed_payment_dkk, 0) + coalesce(ledger.attributed_in_house_dkk, 0)
            - coalesce(client_cost_summed.client_cost_dkk, 0)
            as decimal(18, 2))                                                          as client_cost_difference_dkk,
        cast(coalesce(ledger.posting_count, 0) as {{ dbt.type_bigint() }})              as posting_count
    from keys
    left join ledger
        on keys.municipality_code = ledger.municipality_code
        and keys.account_string = ledger.account_string
        and keys.reconciliation_month = ledger.reconciliation_month
    left join client_cost_summed
        on keys.municipality_code = client_cost_summed.municipality_code
        and keys.account_string = client_cost_summed.account_string
        and keys.reconciliation_month = client_cost_summed.reconciliation_month

)

select * from final
