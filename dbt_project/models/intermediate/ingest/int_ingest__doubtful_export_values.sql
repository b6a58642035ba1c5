{#- The values of the CRM's and the practice export's files kept but doubtful, with their file and line
    (rpt_data_quality lists them with the loaders' own flags): the codes the contract does not declare (the staging
    models keep them and flag them with is_known_*), and ids written in more than one current file with different
    values (the same record exported twice, such as an invoice in invoices.csv and in invoices_2025.csv, is not
    doubtful: the staging model keeps one copy). They are read from the base_ models, which hold every row as read:
    the staging models hold one row per id.
    A model of its own because it reads neither the ledger nor the ingestion ledger: a morning that brings only FEC
    files keeps it as it is (orchestration/dbt_build_record.py), where rpt_data_quality, built again, spent about
    1.2 s of dbt's time on these values at 10 M ledger lines. -#}

{%- set undeclared_codes = [
    ('crm', 'base_crm__companies', 'type', 'account_type', 'is_known_account_type'),
    ('crm', 'base_crm__opportunities', 'status', 'status', 'is_known_status'),
    ('crm', 'base_crm__deals', 'status', 'status', 'is_known_status'),
    ('crm', 'base_crm__estimates', 'status', 'status', 'is_known_status'),
    ('crm', 'base_crm__invoices', 'status', 'status', 'is_known_status'),
    ('crm', 'base_crm__credit_notes', 'status', 'status', 'is_known_status'),
    ('crm', 'base_crm__document_lines', 'document_type', 'document_type', 'is_known_document_type'),
    ('crm', 'base_crm__interactions', 'kind', 'kind', 'is_known_kind'),
    ('practice', 'base_practice__client_files', 'bookkeeping_by', 'bookkeeping_by', 'is_known_bookkeeping_by'),
    ('practice', 'base_practice__client_files', 'frequency', 'bookkeeping_frequency', 'is_known_bookkeeping_frequency'),
    ('practice', 'base_practice__documents', 'method', 'method', 'is_known_method'),
    ('practice', 'base_practice__documents', 'kind', 'kind', 'is_known_kind'),
    ('practice', 'base_practice__documents', 'status', 'status', 'is_known_status'),
] -%}

{%- set ids = [
    ('crm', 'base_crm__companies', 'company_id'),
    ('crm', 'base_crm__opportunities', 'opportunity_id'),
    ('crm', 'base_crm__deals', 'deal_id'),
    ('crm', 'base_crm__estimates', 'estimate_id'),
    ('crm', 'base_crm__invoices', 'invoice_id'),
    ('crm', 'base_crm__credit_notes', 'credit_note_id'),
    ('crm', 'base_crm__purchases', 'purchase_id'),
    ('crm', 'base_crm__interactions', 'interaction_id'),
    ('practice', 'base_practice__collaborators', 'collaborator_id'),
    ('practice', 'base_practice__offices', 'office_id'),
    ('practice', 'base_practice__documents', 'document_id'),
    ('practice', 'base_practice__supplier_rules', 'supplier_rule_id'),
] -%}

with

{% for source_name, model, column, staged_column, known_flag in undeclared_codes %}
undeclared_{{ loop.index }} as (

    select
        '{{ source_name }}' as source,
        _source_file as file_path,
        _line_number as line_number,
        '{{ column }}' as column_name,
        cast({{ staged_column }} as string) as value,
        'undeclared_value' as rule,
        'value ''' || {{ staged_column }} || ''' in {{ column }} is not one the contract declares'
            as detail
    from {{ ref(model) }}
    where {{ staged_column }} is not null and not {{ known_flag }}

),

{% endfor %}
{% for source_name, model, id_column in ids %}
{%- set compared = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(ref(model)) if not column.name.startswith('_') -%}
        {%- do compared.append("coalesce(cast(" ~ adapter.quote(column.name) ~ " as string), '')") -%}
    {%- endfor -%}
{%- endif %}
hashed_{{ loop.index }} as (

    select
        {{ id_column }},
        _source_file,
        _line_number,
        md5(concat_ws('|', {{ compared | join(', ') if compared else "''" }})) as row_values
    from {{ ref(model) }}
    where {{ id_column }} is not null

),

repeated_{{ loop.index }} as (

    -- a group by, not a distinct count over a window, which Spark does not have
    select
        {{ id_column }},
        count(distinct _source_file) as files_with_id,
        count(distinct row_values) as versions_of_record
    from hashed_{{ loop.index }}
    group by {{ id_column }}

),

duplicate_{{ loop.index }} as (

    select
        '{{ source_name }}' as source,
        hashed._source_file as file_path,
        hashed._line_number as line_number,
        'id' as column_name,
        hashed.{{ id_column }} as value,
        'duplicate_id' as rule,
        'id ''' || hashed.{{ id_column }} || ''' is written in ' || repeated.files_with_id
            || ' current files with different values; the staging model keeps one copy' as detail
    from hashed_{{ loop.index }} as hashed
    inner join repeated_{{ loop.index }} as repeated on hashed.{{ id_column }} = repeated.{{ id_column }}
    where repeated.files_with_id > 1 and repeated.versions_of_record > 1

),

{% endfor %}
all_values as (

    {% for _ in undeclared_codes %}
    select * from undeclared_{{ loop.index }}
    union all
    {% endfor %}
    {% for _ in ids %}
    select * from duplicate_{{ loop.index }}
    {{ 'union all' if not loop.last }}
    {% endfor %}

),

final as (

    select
        cast(source as string) as source,
        cast(file_path as string) as file_path,
        cast(line_number as bigint) as line_number,
        cast(column_name as string) as column_name,
        cast(value as string) as value,
        cast(rule as string) as rule,
        cast(detail as string) as detail
    from all_values

)

select * from final
