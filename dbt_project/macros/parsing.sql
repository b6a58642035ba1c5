{#- Typing of raw text fields (CRM and practice exports arrive as VARCHAR). Every parser returns NULL for a
    value it cannot read instead of failing the run: the staging models keep the row and its lineage, and the
    value's absence is visible downstream. Dispatched so another engine can bring its own dialect. -#}

{% macro clean_text(expr) -%}
    {{ return(adapter.dispatch('clean_text', 'vigie')(expr)) }}
{%- endmacro %}

{% macro default__clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}


{#- ISO 8601 date or date-time (with or without offset) -> DATE. The date is the one written in the value (the
    local date of whoever wrote it), not its UTC conversion: an invoice dated 2025-03-01T00:30:00+01:00 is a
    1 March invoice for the firm. -#}
{% macro parse_date(expr) -%}
    {{ return(adapter.dispatch('parse_date', 'vigie')(expr)) }}
{%- endmacro %}

{#- Only YYYY-MM-DD is a date here (DuckDB's cast would also read 2025/03/01): the loader checks values with the
    same rule (assets/ingest/values.py), so a value read as NULL here was flagged or quarantined there. -#}
{% macro default__parse_date(expr) -%}
    case when {{ vigie.matches_fully('left(trim(' ~ expr ~ '), 10)', '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') }}
        then try_cast(left(trim({{ expr }}), 10) as date) end
{%- endmacro %}


{#- Decimal strings ('1234.50', '1234,50', ' 1 234.50 ') -> DECIMAL(precision, scale). -#}
{% macro parse_decimal(expr, precision=18, scale=2) -%}
    {{ return(adapter.dispatch('parse_decimal', 'vigie')(expr, precision, scale)) }}
{%- endmacro %}

{#- Plain decimal notation only: no exponent (an export never writes 1e3; 1e30 is a broken cell). -#}
{% macro default__parse_decimal(expr, precision, scale) -%}
    {%- set text = "replace(replace(trim(" ~ expr ~ "), ' ', ''), ',', '.')" -%}
    case when {{ vigie.matches_fully(text, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)') }}
        then try_cast({{ text }} as decimal({{ precision }}, {{ scale }})) end
{%- endmacro %}


{% macro parse_integer(expr) -%}
    {{ return(adapter.dispatch('parse_integer', 'vigie')(expr)) }}
{%- endmacro %}

{% macro default__parse_integer(expr) -%}
    case when {{ vigie.matches_fully('trim(' ~ expr ~ ')', '[+-]?[0-9]+') }} then try_cast(trim({{ expr }}) as bigint) end
{%- endmacro %}


{#- true/false, 1/0, yes/no (and their French forms oui/non, vrai/faux) -> BOOLEAN; anything else -> NULL. -#}
{% macro parse_boolean(expr) -%}
    {{ return(adapter.dispatch('parse_boolean', 'vigie')(expr)) }}
{%- endmacro %}

{% macro default__parse_boolean(expr) -%}
    case
        when lower(trim({{ expr }})) in ('true', 't', '1', 'yes', 'y', 'oui', 'vrai') then true
        when lower(trim({{ expr }})) in ('false', 'f', '0', 'no', 'n', 'non', 'faux') then false
    end
{%- endmacro %}


{#- Lower-cased, trimmed code (statuses, kinds, methods). -#}
{% macro normalise_code(expr) -%}
    lower(nullif(trim({{ expr }}), ''))
{%- endmacro %}


{#- TRUE when the (already normalised) value is one of `known_values`; FALSE for anything else, NULL included:
    an unknown status is kept and flagged, never dropped. -#}
{% macro is_one_of(expr, known_values) -%}
    coalesce({{ expr }} in ({% for value in known_values %}'{{ value }}'{% if not loop.last %}, {% endif %}{% endfor %}), false)
{%- endmacro %}
