{%- set known_document_types = ['estimate', 'invoice', 'credit_note'] -%}

with

source as (

    select * from {{ source('crm', 'crm_document_lines') }}

),

renamed as (

    select

        ---------- ids
        case {{ normalise_code('document_type') }}
            when 'creditnote' then 'credit_note'
            when 'credit-note' then 'credit_note'
            when 'quote' then 'estimate'
            else {{ normalise_code('document_type') }}
        end as document_type,
        {{ clean_text('document_id') }} as document_id,
        {{ parse_integer('line_no') }} as line_no,

        ---------- product
        {{ clean_text('product_ref') }} as product_ref,
        {{ clean_text('product_name') }} as product_name,

        ---------- numerics
        {{ parse_decimal('quantity', 18, 4) }} as quantity,
        {{ parse_decimal('unit_amount', 18, 4) }} as unit_amount,
        {{ parse_decimal('total_excl_tax') }} as total_excl_tax,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

),

flagged as (

    select
        *,
        {{ is_one_of('document_type', known_document_types) }} as is_known_document_type
    from renamed

)

select * from flagged
