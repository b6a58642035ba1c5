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
    ({{ expr }} rlike '^(?:{{ pattern | replace('\\', '\\\\') }})$')
{%- endmacro %}


{#- Every match of the regular expression replaced (DuckDB replaces the first one unless told 'g'). -#}
{% macro replace_all_matches(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('replace_all_matches', 'vigie')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__replace_all_matches(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{#- Spark reads backslash escapes in string literals: a regex class like \p{L} needs its backslash doubled. -#}
{% macro spark__replace_all_matches(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern | replace('\\', '\\\\') }}', '{{ replacement }}')
{%- endmacro %}


{#- True when the text begins with the prefix. -#}
{% macro starts_with(expr, prefix) -%}
    {{ return(adapter.dispatch('starts_with', 'vigie')(expr, prefix)) }}
{%- endmacro %}

{% macro duckdb__starts_with(expr, prefix) -%}
    starts_with({{ expr }}, {{ prefix }})
{%- endmacro %}

{% macro spark__starts_with(expr, prefix) -%}
    startswith({{ expr }}, {{ prefix }})
{%- endmacro %}


{#- One row per date from `start` to `stop` (both included), every `unit` (day, month): a select-list item that
    multiplies its row. -#}
{% macro date_series_rows(start, stop, unit) -%}
    {{ return(adapter.dispatch('date_series_rows', 'vigie')(start, stop, unit)) }}
{%- endmacro %}

{% macro duckdb__date_series_rows(start, stop, unit) -%}
    cast(unnest(generate_series(cast({{ start }} as date), cast({{ stop }} as date), interval 1 {{ unit }})) as date)
{%- endmacro %}

{% macro spark__date_series_rows(start, stop, unit) -%}
    explode(sequence(cast({{ start }} as date), cast({{ stop }} as date), interval 1 {{ unit }}))
{%- endmacro %}


{#- A CTE read more than once that DuckDB should inline rather than compute once and keep (each reader then reads
    only the columns it needs); Spark decides alone. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'vigie')()) }}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro spark__not_materialized() -%}
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


{#- Lists (DuckDB) and arrays (Spark) of whole numbers, such as the line numbers a check shows as examples. -#}

{#- Aggregate: the `n` smallest values of the group, in ascending order. -#}
{% macro smallest_values(expr, n) -%}
    {{ return(adapter.dispatch('smallest_values', 'vigie')(expr, n)) }}
{%- endmacro %}

{% macro duckdb__smallest_values(expr, n) -%}
    min({{ expr }}, {{ n }})
{%- endmacro %}

{% macro spark__smallest_values(expr, n) -%}
    slice(array_sort(collect_list({{ expr }})), 1, {{ n }})
{%- endmacro %}

{#- A list of one number, or an empty list when `expr` is null. -#}
{% macro number_list_of(expr) -%}
    {{ return(adapter.dispatch('number_list_of', 'vigie')(expr)) }}
{%- endmacro %}

{% macro duckdb__number_list_of(expr) -%}
    case when {{ expr }} is not null then [cast({{ expr }} as bigint)] else cast([] as bigint[]) end
{%- endmacro %}

{% macro spark__number_list_of(expr) -%}
    case when {{ expr }} is not null then array(cast({{ expr }} as bigint)) else cast(array() as array<bigint>) end
{%- endmacro %}

{#- The first `n` items of a list, an empty list for null. -#}
{% macro first_items(list_expr, n) -%}
    {{ return(adapter.dispatch('first_items', 'vigie')(list_expr, n)) }}
{%- endmacro %}

{% macro duckdb__first_items(list_expr, n) -%}
    coalesce({{ list_expr }}[1:{{ n }}], cast([] as bigint[]))
{%- endmacro %}

{% macro spark__first_items(list_expr, n) -%}
    coalesce(slice({{ list_expr }}, 1, {{ n }}), cast(array() as array<bigint>))
{%- endmacro %}


{#- Aggregate: the distinct values of the group as one text, sorted and joined by `separator`. -#}
{% macro sorted_distinct_text(expr, separator) -%}
    {{ return(adapter.dispatch('sorted_distinct_text', 'vigie')(expr, separator)) }}
{%- endmacro %}

{% macro duckdb__sorted_distinct_text(expr, separator) -%}
    string_agg(distinct {{ expr }}, '{{ separator }}' order by {{ expr }})
{%- endmacro %}

{% macro spark__sorted_distinct_text(expr, separator) -%}
    array_join(array_sort(collect_set({{ expr }})), '{{ separator }}')
{%- endmacro %}


{#- The quotient of two whole numbers, rounded toward zero, as a whole number. -#}
{% macro integer_div(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_div', 'vigie')(dividend, divisor)) }}
{%- endmacro %}

{% macro duckdb__integer_div(dividend, divisor) -%}
    (({{ dividend }}) // ({{ divisor }}))
{%- endmacro %}

{% macro spark__integer_div(dividend, divisor) -%}
    (({{ dividend }}) div ({{ divisor }}))
{%- endmacro %}


{#- Every column of the row but `columns`: DuckDB's `* exclude (...)`, Spark's `* except (...)` (DuckDB 2 reads
    both, but sqlfluff's DuckDB dialect only the first). `relation` qualifies the star when given. -#}
{% macro star_except(columns, relation=none) -%}
    {{ return(adapter.dispatch('star_except', 'vigie')(columns, relation)) }}
{%- endmacro %}

{% macro duckdb__star_except(columns, relation) -%}
    {% if relation %}{{ relation }}.{% endif %}* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns, relation) -%}
    {% if relation %}{{ relation }}.{% endif %}* except ({{ columns | join(', ') }})
{%- endmacro %}
