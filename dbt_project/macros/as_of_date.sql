{#- The reference date of a run as a SQL DATE: var('as_of_date') ('YYYY-MM-DD') when the orchestration layer
    passes one, else today. Validated here because the value is spliced into SQL. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or value == '' -%}
        current_date
    {%- else -%}
        {%- set text = value | string -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be a date written YYYY-MM-DD, got '" ~ text ~ "'") }}
        {%- endif -%}
        date '{{ text }}'
    {%- endif -%}
{%- endmacro %}
