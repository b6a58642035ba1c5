{#- What DuckDB and Spark SQL spell differently, one macro each, dispatched on the adapter (issue 12): a model
    calls the macro, never one engine's spelling. Each has a DuckDB and a Spark implementation, and
    tests/spark/test_cross_database_macros.py builds a probe of every one on both engines (a Spark Thrift Server
    on 127.0.0.1) and compares the values. What dbt's own cross-database macros cover (dbt.dateadd,
    dbt.datediff...) is not repeated here. -#}

{#- A row value that compares field by field (an ordering key for max_by). -#}
{% macro row_of(columns) -%}
    {{ return(adapter.dispatch('row_of', 'vigie')(columns)) }}
{%- endmacro %}

{% macro duckdb__row_of(columns) -%}
    row({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_of(columns) -%}
    struct({{ columns | join(', ') }})
{%- endmacro %}

{#- A YYYYMMDD text as a date, or null when it is not a real date (20230230). -#}
{% macro try_parse_compact_date(expr) -%}
    {{ return(adapter.dispatch('try_parse_compact_date', 'vigie')(expr)) }}
{%- endmacro %}

{% macro duckdb__try_parse_compact_date(expr) -%}
    try_strptime({{ expr }}, '%Y%m%d')
{%- endmacro %}

{% macro spark__try_parse_compact_date(expr) -%}
    try_to_timestamp({{ expr }}, 'yyyyMMdd')
{%- endmacro %}

{#- True when the whole text matches the regular expression (not a part of it); null for a null text. -#}
{% macro matches_fully(expr, pattern) -%}
    {{ return(adapter.dispatch('matches_fully', 'vigie')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__matches_fully(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__matches_fully(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}


{#- Every match of the regular expression replaced (DuckDB replaces the first one unless told 'g'). -#}
{% macro replace_all_matches(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('replace_all_matches', 'vigie')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__replace_all_matches(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__replace_all_matches(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}


{#- The type of a JSON document: DuckDB's JSON, a string on Spark (which has no JSON type). -#}
{% macro type_json() -%}
    {{ return(adapter.dispatch('type_json', 'vigie')()) }}
{%- endmacro %}

{% macro duckdb__type_json() -%}
    json
{%- endmacro %}

{% macro spark__type_json() -%}
    string
{%- endmacro %}
