{#-
    Incremental models that rewrite only the rows whose content changed.

    At national scale, writing a 10-million-row table to the DuckDB file costs three to four times
    as much as computing it. A model that uses these macros computes its whole result every night,
    as a table model does, but compares each row's fingerprint with the one stored and writes only
    new and changed rows (dbt's delete+insert on the model's unique key). A post-hook deletes the
    rows whose key has left the source.

    No watermark and no extra state: a change anywhere upstream (a payment, the activity it belongs
    to, a seed, the model's own SQL) changes the fingerprints of exactly the rows it affects, and
    those rows are rewritten. `dbt build --full-refresh` rebuilds such a model from scratch.

    Usage, in a model whose final CTE `result` has one row per `key`:

        {{ config(materialized='incremental', unique_key='key',
                  post_hook="{{ delete_rows_missing_from(ref('stg_source'), 'key') }}") }}

    (delete+insert and on_schema_change 'sync_all_columns' are set for every model in dbt_project.yml.)
        ...
        {{ select_new_or_changed('result', 'key') }}
-#}

{#- A fingerprint of a whole row of `relation_alias` (a CTE or table alias in the FROM clause). -#}
{% macro row_fingerprint(relation_alias) -%}
    {{ return(adapter.dispatch('row_fingerprint')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_fingerprint(relation_alias) -%}
    md5(cast({{ relation_alias }} as {{ api.Column.translate_type('string') }}))
{%- endmacro %}

{#- DuckDB hashes a row (a struct) natively: 64 bits, deterministic across processes. -#}
{% macro duckdb__row_fingerprint(relation_alias) -%}
    hash({{ relation_alias }})
{%- endmacro %}

{#- Every row of `cte` with its fingerprint as `row_fingerprint`; in an incremental run only the rows
    whose fingerprint differs from the stored row of the same key, and the keys not stored yet. A
    stored table without fingerprints (built before the model was incremental) is rewritten whole. -#}
{% macro select_new_or_changed(cte, key) -%}
    {%- set compare_with_stored = is_incremental() and 'row_fingerprint' in (
        adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list
    ) -%}
    , fingerprinted as (

        select {{ cte }}.*, {{ row_fingerprint(cte) }} as row_fingerprint
        from {{ cte }}

    )

    select fingerprinted.*
    from fingerprinted
    {%- if compare_with_stored %}
    left join (select {{ key }}, row_fingerprint from {{ this }}) as stored
        on fingerprinted.{{ key }} = stored.{{ key }}
    where stored.row_fingerprint is null
       or stored.row_fingerprint <> fingerprinted.row_fingerprint
    {%- endif %}
{%- endmacro %}

{#- Post-hook: delete the rows whose key is no longer in `source_relation` (the model's driving
    relation, which holds every key the model has). -#}
{% macro delete_rows_missing_from(source_relation, key) -%}
    delete from {{ this }} as stored
    where not exists (
        select 1 from {{ source_relation }} as current_rows
        where current_rows.{{ key }} = stored.{{ key }}
    )
{%- endmacro %}
