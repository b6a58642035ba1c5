{#- JSON documents built in SQL, the same text on DuckDB and Spark up to spacing and number notation: null fields
    are kept (Spark's to_json drops them unless told), objects keep their fields' order. `fields` is a list of
    (name, SQL expression) pairs. -#}

{#- One object: {"name": value, ...}. -#}
{% macro json_object_of(fields) -%}
    {{ return(adapter.dispatch('json_object_of', 'vigie')(fields)) }}
{%- endmacro %}

{% macro duckdb__json_object_of(fields) -%}
    json_object({% for name, value in fields %}'{{ name }}', {{ value }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{% macro spark__json_object_of(fields) -%}
    to_json(named_struct({% for name, value in fields %}'{{ name }}', {{ value }}{% if not loop.last %}, {% endif %}{% endfor %}),
            map('ignoreNullFields', 'false'))
{%- endmacro %}


{#- Aggregate: the group's rows as a JSON array of objects, in the order of `position` (a whole number unique in the
    group: compute it with row_number() beforehand, Spark's collect_list has no ORDER BY); null for no row. -#}
{% macro json_array_agg(fields, position, where='true') -%}
    {{ return(adapter.dispatch('json_array_agg', 'vigie')(fields, position, where)) }}
{%- endmacro %}

{% macro duckdb__json_array_agg(fields, position, where) -%}
    to_json(list({ {%- for name, value in fields %}'{{ name }}': {{ value }}{% if not loop.last %}, {% endif %}{% endfor -%} }
                 order by {{ position }}) filter (where {{ where }}))
{%- endmacro %}

{% macro spark__json_array_agg(fields, position, where) -%}
    case when count(*) filter (where {{ where }}) > 0 then to_json(
        transform(
            array_sort(collect_list(named_struct('position', {{ position }}, 'item', named_struct(
                {%- for name, value in fields %}'{{ name }}', {{ value }}{% if not loop.last %}, {% endif %}{% endfor -%}
            ))) filter (where {{ where }})),
            entry -> entry.item),
        map('ignoreNullFields', 'false')) end
{%- endmacro %}


{#- Aggregate: {"key": value, ...} over the group's rows, keys in alphabetical order (equal groups, equal texts). -#}
{% macro json_map_agg(key, value) -%}
    {{ return(adapter.dispatch('json_map_agg', 'vigie')(key, value)) }}
{%- endmacro %}

{% macro duckdb__json_map_agg(key, value) -%}
    to_json(map_from_entries(list_sort(list({'key': {{ key }}, 'value': {{ value }}}))))
{%- endmacro %}

{% macro spark__json_map_agg(key, value) -%}
    to_json(map_from_entries(array_sort(collect_list(named_struct('key', {{ key }}, 'value', {{ value }})))))
{%- endmacro %}


{#- {"key": value, ...} from (key, value) pairs whose keys are computed (both SQL expressions). -#}
{% macro json_map_of(pairs) -%}
    {{ return(adapter.dispatch('json_map_of', 'vigie')(pairs)) }}
{%- endmacro %}

{% macro duckdb__json_map_of(pairs) -%}
    json_object({% for key, value in pairs %}{{ key }}, {{ value }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{% macro spark__json_map_of(pairs) -%}
    to_json(map({% for key, value in pairs %}{{ key }}, {{ value }}{% if not loop.last %}, {% endif %}{% endfor %}),
            map('ignoreNullFields', 'false'))
{%- endmacro %}


{#- The text at a JSON path ('$.a.b', simple names only) of a JSON document, null when absent. -#}
{% macro json_text_at(json_expr, path) -%}
    {{ return(adapter.dispatch('json_text_at', 'vigie')(json_expr, path)) }}
{%- endmacro %}

{% macro duckdb__json_text_at(json_expr, path) -%}
    json_extract_string({{ json_expr }}, {{ path }})
{%- endmacro %}

{% macro spark__json_text_at(json_expr, path) -%}
    get_json_object({{ json_expr }}, {{ path }})
{%- endmacro %}


{#- One row per key of the JSON object at `path`: a select-list item that multiplies its row. -#}
{% macro json_key_rows(json_expr, path) -%}
    {{ return(adapter.dispatch('json_key_rows', 'vigie')(json_expr, path)) }}
{%- endmacro %}

{% macro duckdb__json_key_rows(json_expr, path) -%}
    unnest(json_keys(json_extract({{ json_expr }}, {{ path }})))
{%- endmacro %}

{% macro spark__json_key_rows(json_expr, path) -%}
    explode(json_object_keys(get_json_object({{ json_expr }}, {{ path }})))
{%- endmacro %}
