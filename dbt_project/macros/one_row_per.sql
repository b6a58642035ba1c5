{#- The rows of `relation`, one per key: the copy that comes first in `order_by` (file order: the first copy).
    Rows with an empty key are all kept, since they cannot be told apart and nothing is dropped silently. Staging
    models hold their grain with it; the copies stay in their base_ model, where rpt_data_quality lists them. -#}
{% macro one_row_per(relation, key_columns, order_by='_source_file, _line_number') -%}
select {{ vigie.star_except(['_copy_number']) }}
from (
    select
        *,
        row_number() over (partition by {{ key_columns | join(', ') }} order by {{ order_by }}) as _copy_number
    from {{ relation }}
) as numbered
where _copy_number = 1 or {{ key_columns | join(' is null or ') }} is null
{%- endmacro %}
