-- What does each grant cost per year, and does the ledger agree? One row per appropriation (grant) x
-- calendar year, plus one row per account x year for ledger postings that match no grant
-- (is_posting_without_grant; appropriation_id null).
--   paid_cost_dkk      paid payments (paid year);        planned_cost_dkk  unpaid payments of GRANTED activities (planned year);
--   in_house_cost_dkk  allocated in-house cost (month's year);
--   expected_cost_dkk  OS2bos "expected in year": granted payments overridden from the start of an EXPECTED
--                      adjustment, plus the adjustment's payments (paid or planned amounts);
--   total_cost_dkk     paid + in-house + planned;
--   posted_dkk         ledger postings whose voucher BOS<payment_id> matches one of the grant's payments
--                      (posting year; includes duplicates and postings on unknown accounts);
--   is_grant_without_postings  the grant has paid payments but none of them reached the ledger (whole life).

with

payments as (

    select * from {{ ref('int_payments_attributed') }}

),

adjustments as (

    select activity_id as expected_activity_id, modifies_activity_id as granted_activity_id, start_date as override_from
    from {{ ref('int_activities_enriched') }}
    where activity_status = 'EXPECTED' and modifies_activity_id is not null

),

payment_years as (

    select
        payments.appropriation_id,
        cast(extract(year from payments.reporting_date) as integer)         as cost_year,
        sum(case when payments.is_paid then payments.paid_amount else 0 end) as paid_cost_dkk,
        sum(case when not payments.is_paid and payments.activity_status = 'GRANTED'
                 then payments.planned_amount else 0 end)                   as planned_cost_dkk,
        sum(case
                when payments.activity_status = 'GRANTED' and overridden.granted_activity_id is null
                    then payments.reporting_amount
                when payments.activity_status = 'EXPECTED' then payments.reporting_amount
                else 0
            end)                                                            as expected_cost_dkk,
        sum(case when payments.is_paid then 1 else 0 end)                   as paid_payment_count
    from payments
    left join adjustments as overridden
        on payments.activity_id = overridden.granted_activity_id
        and payments.reporting_date >= overridden.override_from
    where payments.appropriation_id is not null
    group by payments.appropriation_id, cast(extract(year from payments.reporting_date) as integer)

),

in_house_years as (

    select
        appropriation_id,
        cast(extract(year from cost_month) as integer)                      as cost_year,
        sum(in_house_cost_dkk)                                              as in_house_cost_dkk
    from {{ ref('int_in_house_cost_allocated') }}
    where unit_salaries_dkk is not null
    group by appropriation_id, cast(extract(year from cost_month) as integer)

),

postings as (

    select * from {{ ref('int_ledger_postings_classified') }}

),

posting_years as (

    select
        matched_appropriation_id                                            as appropriation_id,
        cast(extract(year from posting_date) as integer)                    as cost_year,
        sum(amount_dkk)                                                     as posted_dkk,
        count(*)                                                            as posting_count
    from postings
    where matched_appropriation_id is not null
    group by matched_appropriation_id, cast(extract(year from posting_date) as integer)

),

grant_life as (

    select
        payment_years.appropriation_id,
        sum(payment_years.paid_payment_count)                               as paid_payments,
        max(case when posting_years.appropriation_id is not null then 1 else 0 end) as has_postings
    from payment_years
    left join posting_years
        on payment_years.appropriation_id = posting_years.appropriation_id
    group by payment_years.appropriation_id

),

grant_keys as (

    select appropriation_id, cost_year from payment_years
    union
    select appropriation_id, cost_year from in_house_years
    union
    select appropriation_id, cost_year from posting_years

),

grants as (

    select
        appropriations.appropriation_id,
        appropriations.case_id,
        main_activity.client_id,
        main_activity.paragraph_key,
        main_activity.intervention_category,
        main_activity.provider_key
    from {{ ref('stg_os2bos__appropriations') }} as appropriations
    left join (
        select
            appropriation_id, client_id, paragraph_key, intervention_category, provider_key,
            row_number() over (
                partition by appropriation_id
                order by case when activity_type = 'MAIN_ACTIVITY' then 0 else 1 end, activity_id
            ) as activity_rank
        from {{ ref('int_activities_enriched') }}
    ) as main_activity
        on appropriations.appropriation_id = main_activity.appropriation_id
        and main_activity.activity_rank = 1

),

grant_rows as (

    select
        grant_keys.appropriation_id,
        cast(null as {{ api.Column.translate_type('string') }})             as unmatched_account_string,
        grants.case_id,
        grants.client_id,
        grants.paragraph_key,
        coalesce(grants.intervention_category, 'Unclassified')              as intervention_category,
        grants.provider_key,
        grant_keys.cost_year,
        coalesce(payment_years.paid_cost_dkk, 0)                            as paid_cost_dkk,
        coalesce(in_house_years.in_house_cost_dkk, 0)                       as in_house_cost_dkk,
        coalesce(payment_years.planned_cost_dkk, 0)                         as planned_cost_dkk,
        coalesce(payment_years.expected_cost_dkk, 0)                        as expected_cost_dkk,
        coalesce(posting_years.posted_dkk, 0)                               as posted_dkk,
        coalesce(payment_years.paid_payment_count, 0)                       as paid_payment_count,
        coalesce(posting_years.posting_count, 0)                            as posting_count,
        coalesce(grant_life.paid_payments > 0 and grant_life.has_postings = 0, false) as is_grant_without_postings,
        false                                                               as is_posting_without_grant
    from grant_keys
    left join grants
        on grant_keys.appropriation_id = grants.appropriation_id
    left join payment_years
        on grant_keys.appropriation_id = payment_years.appropriation_id
        and grant_keys.cost_year = payment_years.cost_year
    left join in_house_years
        on grant_keys.appropriation_id = in_house_years.appropriation_id
        and grant_keys.cost_year = in_house_years.cost_year
    left join posting_years
        on grant_keys.appropriation_id = posting_years.appropriation_id
        and grant_keys.cost_year = posting_years.cost_year
    left join grant_life
        on grant_keys.appropriation_id = grant_life.appropriation_id

),

ungranted_rows as (

    -- Ledger postings that match no grant (no payment voucher; in-house salaries are allocated, not
    -- ungranted, and stay out).
    select
        cast(null as {{ dbt.type_bigint() }})                               as appropriation_id,
        coalesce(account_string, 'unknown')                                 as unmatched_account_string,
        cast(null as {{ dbt.type_bigint() }})                               as case_id,
        cast(null as {{ api.Column.translate_type('string') }})             as client_id,
        cast(null as {{ api.Column.translate_type('string') }})             as paragraph_key,
        'Unclassified'                                                      as intervention_category,
        cast(null as {{ api.Column.translate_type('string') }})             as provider_key,
        cast(extract(year from posting_date) as integer)                    as cost_year,
        0                                                                   as paid_cost_dkk,
        0                                                                   as in_house_cost_dkk,
        0                                                                   as planned_cost_dkk,
        0                                                                   as expected_cost_dkk,
        sum(amount_dkk)                                                     as posted_dkk,
        0                                                                   as paid_payment_count,
        count(*)                                                            as posting_count,
        false                                                               as is_grant_without_postings,
        true                                                                as is_posting_without_grant
    from postings
    where matched_appropriation_id is null
      and reconciliation_category not in ('attributed_in_house', 'in_house_without_volume')
    group by coalesce(account_string, 'unknown'), cast(extract(year from posting_date) as integer)

),

combined as (

    select * from grant_rows
    union all
    select * from ungranted_rows

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "coalesce(" ~ dbt.cast('appropriation_id', api.Column.translate_type('string')) ~ ", '')", "'|'",
            "coalesce(unmatched_account_string, '')", "'|'",
            dbt.cast('cost_year', api.Column.translate_type('string'))
        ])) }}                                                              as grant_cost_key,
        appropriation_id,
        unmatched_account_string,
        case_id,
        client_id,
        paragraph_key,
        intervention_category,
        provider_key,
        cost_year,
        cast(paid_cost_dkk as decimal(18, 2))                               as paid_cost_dkk,
        cast(in_house_cost_dkk as decimal(18, 2))                           as in_house_cost_dkk,
        cast(planned_cost_dkk as decimal(18, 2))                            as planned_cost_dkk,
        cast(paid_cost_dkk + in_house_cost_dkk + planned_cost_dkk as decimal(18, 2)) as total_cost_dkk,
        cast(expected_cost_dkk as decimal(18, 2))                           as expected_cost_dkk,
        cast(posted_dkk as decimal(18, 2))                                  as posted_dkk,
        cast(paid_payment_count as {{ dbt.type_bigint() }})                 as paid_payment_count,
        cast(posting_count as {{ dbt.type_bigint() }})                      as posting_count,
        is_grant_without_postings,
        is_posting_without_grant
    from combined

)

select * from final
