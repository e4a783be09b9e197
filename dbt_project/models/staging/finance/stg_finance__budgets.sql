-- Budget lines from the finance system's budget export: one row per municipality x account x month.
-- The export has no key of its own; the natural key (municipality, account, year, month) is used.

with

source as (

    {{ dedupe_latest_load(
        source('finance', 'budgets'),
        'municipality_code, account_string, budget_year, budget_month'
    ) }}

),

renamed as (

    select
        {{ dbt.hash(dbt.concat([
            'municipality_code', "'|'", 'account_string', "'|'",
            dbt.cast('budget_year', api.Column.translate_type('string')), "'|'",
            dbt.cast('budget_month', api.Column.translate_type('string'))
        ])) }}                                                  as budget_line_key,
        municipality_code,
        account_string,
        {{ dbt.split_part('account_string', "'-'", 1) }}        as main_account_number,
        activity_code,
        cast(budget_year as integer)                            as budget_year,
        cast(budget_month as integer)                           as budget_month,
        cast(
            {{ dbt.dateadd('month', 'cast(budget_month as integer) - 1',
                dbt.dateadd('year', 'cast(budget_year as integer) - 2000', "cast('2000-01-01' as date)")) }}
            as date
        )                                                       as budget_month_start,
        {{ cast_money('amount') }}                              as budget_dkk,
        source_file
    from source

)

select * from renamed
