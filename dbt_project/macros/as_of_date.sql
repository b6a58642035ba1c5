{#- The reference date of a run as a SQL DATE, 'YYYY-MM-DD': var('as_of_date') when one is passed (tests, a
    manual `dbt build --vars`), else the environment variable VIGIE_AS_OF_DATE that the orchestration layer sets,
    else today. The orchestration layer uses the environment because the date changes every morning: a changed var
    makes dbt parse the whole project again, a changed environment variable only the files that read it.
    Validated here because the value is spliced into SQL. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) or env_var('VIGIE_AS_OF_DATE', '') -%}
    {%- if value is none or value == '' -%}
        current_date
    {%- else -%}
        {%- set text = value | string -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
            {{ exceptions.raise_compiler_error("as_of_date must be a date written YYYY-MM-DD, got '" ~ text ~ "'") }}
        {%- endif -%}
        date '{{ text }}'
    {%- endif -%}
{%- endmacro %}
