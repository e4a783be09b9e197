{#-
    Generic (model-level) test for suppress_small_cells: within every partition of every group set, the
    number of suppressed cells is 0 or at least 2 (one suppressed cell could be recovered from the
    partition's total), every cell with 0 < count < threshold is suppressed, and suppressed cells publish
    no value. Fails with one row per offending partition or cell.
-#}
{% test complementary_suppression(model, count_column, value_columns, group_sets, threshold=5) %}

{%- for group_columns in group_sets %}
select 'singleton suppressed cell in ({{ group_columns | join(', ') }})' as failure
from {{ model }}
group by {{ group_columns | join(', ') }}
having sum(case when is_suppressed then 1 else 0 end) = 1

union all
{%- endfor %}

select 'primary suppression missing' as failure
from {{ model }}
where not is_suppressed
  and {{ count_column }} > 0 and {{ count_column }} < {{ threshold }}

{%- for value_column in value_columns %}

union all

select 'suppressed value published: {{ value_column }}' as failure
from {{ model }}
where is_suppressed and {{ value_column }} is not null
{%- endfor %}

{% endtest %}
