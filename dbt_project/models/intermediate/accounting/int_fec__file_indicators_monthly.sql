-- The components of int_fec__file_components_monthly side by side, one row per file and covered month, with
-- the indicators derived from them (value added, EBITDA) and the month's line count. A component without any
-- account in the file is 0.

{#- one column per component of the account_mapping seed: var ledger_components (dbt_project.yml), since the
    pivot's columns must be known when the SQL is compiled, before any seed is read; a test keeps the two equal -#}
{%- set components = var('ledger_components') %}

with

file_months as (

    select * from {{ ref('int_fec__file_months') }}

),

file_components as (

    select * from {{ ref('int_fec__file_components_monthly') }}

),

pivoted as (

    select
        file_sha256,
        month,
        {%- for component in components %}
        sum(amount) filter (where component = '{{ component }}') as {{ component }}{{ ',' if not loop.last }}
        {%- endfor %}
    from file_components
    group by file_sha256, month

),

zero_filled as (

    select
        file_months.file_sha256,
        file_months.client_id,
        file_months.closing_date,
        file_months.month,
        file_months.line_count,
        {%- for component in components %}
        coalesce(pivoted.{{ component }}, 0) as {{ component }}{{ ',' if not loop.last }}
        {%- endfor %}
    from file_months
    left join pivoted using (file_sha256, month)

),

derived as (

    select
        *,
        -- valeur ajoutée = marge commerciale + production - consommations de tiers
        gross_margin_goods + production - third_party_consumption as value_added
    from zero_filled

),

final as (

    select
        *,
        -- EBE = valeur ajoutée + subventions d'exploitation - impôts et taxes - charges de personnel
        value_added + operating_subsidies - taxes - staff_costs as ebitda
    from derived

)

select * from final
