{#- A share between 0 and 1 to four decimals, rounded half away from zero, empty when the whole is zero: the
    practice dashboard's "auto-processed share" and the top customer's share of the ledger, so its definition
    lives once. Computed in whole hundredths (counts, or amounts in cents), so it is exact on every engine: DuckDB
    divides decimals as doubles, which rounded a share of exactly 0.08925 down (0.0892) where Spark's exact
    division gave 0.0893. Exact for amounts up to 4.6 thousand billion euros (a bigint). -#}
{% macro share(part, whole) -%}
    {%- set part_hundredths = "cast(" ~ part ~ " * 100 as bigint)" -%}
    {%- set whole_hundredths = "cast(" ~ whole ~ " * 100 as bigint)" -%}
    cast(case when {{ whole }} > 0 then
        case when {{ part }} < 0 then -1 else 1 end
        * {{ vigie.integer_div('abs(' ~ part_hundredths ~ ') * 20000 + ' ~ whole_hundredths, '2 * ' ~ whole_hundredths) }}
        * 0.0001
    end as decimal(5, 4))
{%- endmacro %}
