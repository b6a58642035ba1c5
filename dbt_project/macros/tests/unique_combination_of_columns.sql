{#- Fails with every combination of `combination_of_columns` (column names or expressions) found more than once:
    the primary-key test of a multi-column grain. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select
    {% for column in combination_of_columns %}{{ column }} as key_{{ loop.index }}, {% endfor %}
    count(*) as occurrences
from {{ model }}
group by {% for column in combination_of_columns %}{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{% endtest %}
