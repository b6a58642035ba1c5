{#- Names as the matching compares them (int_time__entries_matched): lower case, ligatures spelt out, accents
    removed, every run of characters that are neither letters nor digits one space ("Crêperie  Henry" =
    "creperie henry" = "CREPERIE-HENRY"); NULL when nothing is left. -#}
{% macro name_key(expr) -%}
    {%- set spelt_out = "replace(replace(lower(" ~ expr ~ "), 'œ', 'oe'), 'æ', 'ae')" -%}
    nullif(trim({{ vigie.replace_all_matches(vigie.without_accents(spelt_out), '[^\\p{L}\\p{N}]+', ' ') }}), '')
{%- endmacro %}


{#- Lower-case text without its accents (é -> e). -#}
{% macro without_accents(expr) -%}
    {{ return(adapter.dispatch('without_accents', 'vigie')(expr)) }}
{%- endmacro %}

{% macro duckdb__without_accents(expr) -%}
    strip_accents({{ expr }})
{%- endmacro %}

{#- Spark has no strip_accents: the accented lower-case letters of French and its neighbours, one by one. -#}
{% macro spark__without_accents(expr) -%}
    translate({{ expr }}, 'àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőùúûüūůűýÿžźżśšşťř', 'aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooouuuuuuuyyzzzssstr')
{%- endmacro %}
