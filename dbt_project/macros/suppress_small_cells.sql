{#-
    Small-number suppression for leader-facing tables (DOMAIN.md: figures about fewer than 5 children are
    suppressed, including cells that could be recovered from totals).

    `relation` is a relation (a ref) of cells that already contains its margin totals (rows where a
    dimension holds the total value, e.g. 'All'). `group_sets` lists the partitions within which cells add
    up to a published total, e.g. [['cost_year', 'school_district_name'], ['cost_year',
    'intervention_category']] for a district x intervention table per year (each partition includes its
    margin cell).

    1. Primary suppression: cells with 0 < count_column < threshold.
    2. Complementary suppression: in every partition with exactly one suppressed cell, the unsuppressed
       cell with the smallest count (ties: smallest `order_by`) is suppressed too, so that the suppressed
       cell cannot be recovered by subtraction from the partition's total. Repeated `passes` times over
       all group sets, because suppressing in one direction can expose a cell in the other. The generic
       test `complementary_suppression` checks the outcome.

    Returns a `select` of the relation's columns plus `is_suppressed` and `suppression_reason`
    ('primary', 'complementary' or null); every column in `value_columns` is null in suppressed cells.
    Portable SQL: window functions only; the relation's columns are listed explicitly.
-#}
{% macro suppress_small_cells(relation, count_column, value_columns, group_sets, order_by, threshold=5, passes=4) -%}
    {%- set columns = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do columns.append(column.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set column_list = columns | join(', ') -%}
    with

    _suppression_0 as (

        select
            {{ column_list }},
            case when {{ count_column }} > 0 and {{ count_column }} < {{ threshold }} then 1 else 0 end as _suppressed,
            case when {{ count_column }} > 0 and {{ count_column }} < {{ threshold }} then 'primary' end as _reason
        from {{ relation }}

    ),
    {%- set ns = namespace(previous='_suppression_0', step=0) -%}
    {%- for pass_number in range(passes) -%}
        {%- for group_columns in group_sets -%}
            {%- set ns.step = ns.step + 1 %}

    _suppression_{{ ns.step }}_ranked as (

        select
            {{ column_list }},
            _suppressed,
            _reason,
            sum(_suppressed) over (partition by {{ group_columns | join(', ') }}) as _group_suppressed,
            row_number() over (
                partition by {{ group_columns | join(', ') }}
                order by _suppressed, {{ count_column }}, {{ order_by }}
            ) as _group_rank
        from {{ ns.previous }}

    ),

    _suppression_{{ ns.step }} as (

        select
            {{ column_list }},
            case when _suppressed = 0 and _group_suppressed = 1 and _group_rank = 1 then 1 else _suppressed end
                as _suppressed,
            case when _suppressed = 0 and _group_suppressed = 1 and _group_rank = 1 then 'complementary' else _reason end
                as _reason
        from _suppression_{{ ns.step }}_ranked

    ),
            {%- set ns.previous = '_suppression_' ~ ns.step -%}
        {%- endfor -%}
    {%- endfor %}

    _suppressed_final as (

        select * from {{ ns.previous }}

    )

    select
        {%- for column in columns %}
        {%- if column in value_columns %}
        case when _suppressed = 1 then null else {{ column }} end as {{ column }},
        {%- else %}
        {{ column }},
        {%- endif %}
        {%- endfor %}
        _suppressed = 1 as is_suppressed,
        _reason         as suppression_reason
    from _suppressed_final
{%- endmacro %}
