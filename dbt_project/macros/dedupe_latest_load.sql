{#-
    One row per primary key of a raw (dlt) relation: the row of the latest dlt load.

    dlt adds `_dlt_load_id` (sortable load timestamp) and `_dlt_id` to the rows it writes, but not
    always (the pyarrow backend leaves them out unless configured). The columns of the relation are
    inspected at run time: when `_dlt_load_id` is absent, one row per key is kept and the tie is
    broken by `_dlt_id` if present, otherwise arbitrarily (the raw tables are then full replaces, so
    keys are unique anyway). Raw keys may repeat across loads; staging models test uniqueness.

    Soft deletes: when the loader marks rows deleted in the source with a `_source_deleted`
    timestamp, the latest version of such a row is dropped (`exclude_soft_deleted=true`, the default).
    The column is looked up at run time, so relations without it are unaffected.

    `unique_in_raw=true` says the loader already keeps one row per key (dlt replaces the table or
    merges on this very key, as for OS2bos and the case events): no window is computed. At national
    scale the window costs about 2 s for every model and test that reads the staging view. The
    staging model's `unique` test still checks the claim on every build.

    Returns a complete `select` (use it as the body of a CTE). The helper column `_dedupe_row_number`
    is returned too; select named columns from the CTE.
-#}
{% macro dedupe_latest_load(relation, primary_key, exclude_soft_deleted=true, unique_in_raw=false) -%}
    {%- set found = namespace(load_id=none, row_id=none, deleted_at=none) -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name | lower == '_dlt_load_id' -%}
                {%- set found.load_id = column.name -%}
            {%- elif column.name | lower == '_dlt_id' -%}
                {%- set found.row_id = column.name -%}
            {%- elif column.name | lower == '_source_deleted' -%}
                {%- set found.deleted_at = column.name -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set order_by = [] -%}
    {%- if found.load_id is not none -%}
        {%- do order_by.append(adapter.quote(found.load_id) ~ ' desc') -%}
    {%- endif -%}
    {%- if found.row_id is not none -%}
        {%- do order_by.append(adapter.quote(found.row_id) ~ ' desc') -%}
    {%- endif -%}
    {%- if not order_by -%}
        {%- do order_by.append(primary_key) -%}
    {%- endif -%}
    {%- if unique_in_raw %}
    select deduplicated.*, 1 as _dedupe_row_number
    from {{ relation }} as deduplicated
    where true
    {%- else %}
    select *
    from (
        select
            ranked_source.*,
            row_number() over (
                partition by {{ primary_key }}
                order by {{ order_by | join(', ') }}
            ) as _dedupe_row_number
        from {{ relation }} as ranked_source
    ) as deduplicated
    where _dedupe_row_number = 1
    {%- endif %}
    {%- if exclude_soft_deleted and found.deleted_at is not none %}
      and {{ adapter.quote(found.deleted_at) }} is null
    {%- endif %}
{%- endmacro %}
