-- KPB validation, DOMAIN.md step 5 ("sum of client costs + unattributed cost = ledger total"), with the two
-- explained differences between the client view and the ledger view made explicit:
--   ledger total = client cost (fct_client_cost)
--                + unattributed (fct_ledger_reconciliation)
--                - paid payments not (yet) posted in the ledger (late postings)
--                - postings on unknown accounts that match a paid payment (already in the client cost;
--                  reported as unattributed on the ledger side because the account is outside the chart)
-- Returns a row when the identity does not hold to the øre.

with

client_cost as (

    select coalesce(sum(cost_dkk), 0) as amount_dkk from {{ ref('fct_client_cost') }}

),

reconciliation as (

    select
        coalesce(sum(ledger_total_dkk), 0) as ledger_total_dkk,
        coalesce(sum(unattributed_dkk), 0) as unattributed_dkk
    from {{ ref('fct_ledger_reconciliation') }}

),

postings as (

    select * from {{ ref('int_ledger_postings_classified') }}

),

paid_not_posted as (

    select coalesce(sum(payments.paid_amount), 0) as amount_dkk
    from {{ ref('int_payments_attributed') }} as payments
    where payments.is_paid
      and not exists (
          select 1 from postings where postings.matched_payment_id = payments.payment_id
      )

),

unknown_account_matched as (

    -- paid payments whose postings all sit on unknown accounts: counted once in the client cost
    -- (duplicates of them stay unattributed on top)
    select coalesce(sum(payments.paid_amount), 0) as amount_dkk
    from {{ ref('int_payments_attributed') }} as payments
    where payments.is_paid
      and exists (
          select 1 from postings
          where postings.matched_payment_id = payments.payment_id
            and postings.reconciliation_category = 'unknown_account'
      )
      and not exists (
          select 1 from postings
          where postings.matched_payment_id = payments.payment_id
            and postings.reconciliation_category = 'attributed_payment'
      )

)

select
    reconciliation.ledger_total_dkk,
    client_cost.amount_dkk as client_cost_dkk,
    reconciliation.unattributed_dkk,
    paid_not_posted.amount_dkk as paid_not_posted_dkk,
    unknown_account_matched.amount_dkk as unknown_account_matched_dkk
from reconciliation
cross join client_cost
cross join paid_not_posted
cross join unknown_account_matched
where reconciliation.ledger_total_dkk
   <> client_cost.amount_dkk + reconciliation.unattributed_dkk
      - paid_not_posted.amount_dkk - unknown_account_matched.amount_dkk
