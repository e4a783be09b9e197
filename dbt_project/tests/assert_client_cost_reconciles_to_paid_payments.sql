-- KPB validation: the purchased cost of fct_client_cost equals the sum of all paid OS2bos payments, to the
-- krone, and its paid_payment_count their number (nothing attributed twice, nothing dropped); cost_dkk is
-- purchased + in-house on every row. Returns a row when they differ.

with

mart as (

    select
        coalesce(sum(purchased_cost_dkk), 0) as cost_dkk,
        coalesce(sum(paid_payment_count), 0) as payment_count,
        sum(case when cost_dkk <> purchased_cost_dkk + in_house_cost_dkk then 1 else 0 end) as rows_not_adding_up
    from {{ ref('fct_client_cost') }}

),

paid_payments as (

    select coalesce(sum(paid_amount), 0) as cost_dkk, count(*) as payment_count
    from {{ ref('stg_os2bos__payments') }}
    where is_paid

)

select
    mart.cost_dkk as mart_cost_dkk,
    paid_payments.cost_dkk as paid_cost_dkk,
    mart.payment_count as mart_payment_count,
    paid_payments.payment_count as paid_payment_count,
    mart.rows_not_adding_up
from mart
cross join paid_payments
where mart.cost_dkk <> paid_payments.cost_dkk
   or mart.payment_count <> paid_payments.payment_count
   or mart.rows_not_adding_up > 0
