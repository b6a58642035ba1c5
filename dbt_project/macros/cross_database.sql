{#- What DuckDB and Spark SQL write differently, one macro each, dispatched on the adapter (issue 12): a model
    calls the macro, never one engine's spelling. default__ is Spark's, the target of the scaled-out shape. -#}

{#- A row value that compares field by field (an ordering key for max_by): row(a, b) in DuckDB, struct(a, b) in
    Spark. -#}
{% macro row_of(columns) -%}
    {{ return(adapter.dispatch('row_of', 'vigie')(columns)) }}
{%- endmacro %}

{% macro default__row_of(columns) -%}
    struct({{ columns | join(', ') }})
{%- endmacro %}

{% macro duckdb__row_of(columns) -%}
    row({{ columns | join(', ') }})
{%- endmacro %}

{#- A YYYYMMDD text as a date, or null when it is not a real date (20230230). -#}
{% macro try_parse_compact_date(expr) -%}
    {{ return(adapter.dispatch('try_parse_compact_date', 'vigie')(expr)) }}
{%- endmacro %}

{% macro default__try_parse_compact_date(expr) -%}
    try_to_timestamp({{ expr }}, 'yyyyMMdd')
{%- endmacro %}

{% macro duckdb__try_parse_compact_date(expr) -%}
    try_strptime({{ expr }}, '%Y%m%d')
{%- endmacro %}
