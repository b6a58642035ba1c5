{#- A share between 0 and 1 to four decimals, empty when the whole is zero: the practice dashboard's
    "auto-processed share" everywhere it appears, so its definition lives once. -#}
{% macro share(part, whole) -%}
    cast(case when {{ whole }} > 0 then round({{ part }} * 1.0 / {{ whole }}, 4) end as decimal(5, 4))
{%- endmacro %}
