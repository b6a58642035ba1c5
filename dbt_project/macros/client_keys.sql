{#- The client_id convention every mart uses: the company's SIREN when known, else a key derived from the
    system that knows the company. -#}

{#- A SIREN written with spaces or dots ('123 456 789') -> its 9 digits; anything else (10 digits, letters,
    blank) -> NULL. -#}
{% macro normalise_siren(expr) -%}
    {{ return(adapter.dispatch('normalise_siren', 'vigie')(expr)) }}
{%- endmacro %}

{% macro default__normalise_siren(expr) -%}
    {%- set digits = vigie.replace_all_matches('trim(' ~ expr ~ ')', '[ .]', '') -%}
    case when {{ vigie.matches_fully(digits, '[0-9]{9}') }} then {{ digits }} end
{%- endmacro %}


{#- CRM company without a SIREN -> 'crm-<company id>'. -#}
{% macro crm_client_id(siren_expr, company_id_expr) -%}
    coalesce({{ siren_expr }}, 'crm-' || {{ company_id_expr }})
{%- endmacro %}


{#- FEC file whose SIREN is not 9 digits (a made-up or mistyped file name) -> 'fec-<SIREN as received>', or
    'fec-<file path>' when there is none, so its lines still belong to one identifiable client. -#}
{% macro fec_client_id(siren_expr, raw_siren_expr, source_file_expr) -%}
    coalesce({{ siren_expr }}, 'fec-' || coalesce(nullif(trim({{ raw_siren_expr }}), ''), {{ source_file_expr }}))
{%- endmacro %}


{#- The client_id and siren columns of a FEC ledger's rows, from the SIREN as the file gave it and the file's path:
    stg_accounting__fec_lines on each line, int_fec__account_monthly once per summed row. -#}
{% macro fec_client_columns(raw_siren_expr, source_file_expr) -%}
    {{ fec_client_id(normalise_siren(raw_siren_expr), raw_siren_expr, source_file_expr) }} as client_id,
    {{ normalise_siren(raw_siren_expr) }} as siren
{%- endmacro %}
