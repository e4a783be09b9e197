{#- Small, portable column cleaners shared by the staging models. -#}

{#- Money: always decimal(18,2) in the warehouse. -#}
{% macro cast_money(column) -%}
    cast({{ column }} as decimal(18, 2))
{%- endmacro %}

{#- Optional text: blank strings (as OS2bos stores "no value") become null. -#}
{% macro nullif_blank(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}
