{#- The Luhn sum of a 9-digit text (a SIREN is valid when it is a multiple of 10): every second digit from the
    right is doubled, and a doubled digit above 9 counts its two digits. Plain arithmetic, so any engine runs it. -#}
{% macro luhn_sum(nine_digits) -%}
    ({% for position in range(1, 10) -%}
    {%- set digit = "cast(substr(" ~ nine_digits ~ ", " ~ position ~ ", 1) as integer)" -%}
    {%- if position % 2 == 0 -%}
    (({{ digit }} * 2) % 10 + case when {{ digit }} >= 5 then 1 else 0 end)
    {%- else -%}
    {{ digit }}
    {%- endif %}{{ ' + ' if not loop.last }}
    {%- endfor %})
{%- endmacro %}
