-- Accounts: one row per account string seen in the chart seed (account_interventions), the ledger, the
-- budgets or the payments, with its intervention category. Accounts outside the seed are flagged
-- is_known_account = false (their postings are "unknown account" in the reconciliation).

with

seen as (

    select account_string from {{ ref('account_interventions') }}
    union
    select account_string from {{ ref('stg_finance__ledger_postings') }} where account_string is not null
    union
    select account_string from {{ ref('stg_finance__budgets') }} where account_string is not null
    union
    select account_string from {{ ref('stg_os2bos__payments') }} where account_string is not null

),

seed as (

    select * from {{ ref('account_interventions') }}

),

final as (

    select
        seen.account_string,
        {{ dbt.split_part('seen.account_string', "'-'", 1) }}                  as main_account_number,
        {{ dbt.split_part('seen.account_string', "'-'", 2) }}                  as activity_category_code,
        coalesce(
            seed.main_function,
            {{ dbt.concat(["substring(seen.account_string, 1, 1)", "'.'", "substring(seen.account_string, 2, 2)"]) }}
        )                                                                      as main_function,
        coalesce(seed.account_name_da, 'Unknown account')                      as account_name,
        coalesce(seed.intervention_category, 'Unclassified')                   as intervention_category,
        coalesce(seed.has_in_house_unit, false)                                as has_in_house_unit,
        coalesce(seed.is_child_services_area, false)                           as is_child_services_area,
        seed.account_string is not null                                        as is_known_account
    from seen
    left join seed
        on seen.account_string = seed.account_string

)

select * from final
