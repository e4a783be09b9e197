-- KPB allocation: the in-house cost in fct_client_cost equals, to the øre, the in-house salary postings
-- the reconciliation reports as attributed (salaries in months with in-house hours). Returns a row when not.

with

client_cost as (

    select coalesce(sum(in_house_cost_dkk), 0) as in_house_dkk from {{ ref('fct_client_cost') }}

),

ledger as (

    select coalesce(sum(attributed_in_house_dkk), 0) as in_house_dkk from {{ ref('fct_ledger_reconciliation') }}

)

select client_cost.in_house_dkk as client_cost_dkk, ledger.in_house_dkk as ledger_dkk
from client_cost
cross join ledger
where client_cost.in_house_dkk <> ledger.in_house_dkk
