{#- Schemas are named exactly as configured (staging, intermediate, marts, reference), not
    `<target schema>_<custom schema>`: the publisher and the BI contract address them by these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
