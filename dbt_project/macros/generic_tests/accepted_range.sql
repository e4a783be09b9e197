{#-
    Generic test: every non-null value of the column lies within [min_value, max_value]
    (bounds optional; `inclusive=false` makes them strict). Fails on each row outside the range.
-#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

select *
from {{ model }}
where {{ column_name }} is not null
  and (
        {% if min_value is not none -%}
        {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
        {%- else -%}
        1 = 0
        {%- endif %}
        or
        {% if max_value is not none -%}
        {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
        {%- else -%}
        1 = 0
        {%- endif %}
  )

{% endtest %}
