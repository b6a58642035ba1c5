{%- set known_statuses = ['draft', 'stored', 'partialspend', 'spent', 'cancelled'] -%}

with

source as (

    select * from {{ source('crm', 'crm_credit_notes') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as credit_note_id,
        {{ clean_text('company_id') }} as company_id,
        {{ clean_text('invoice_id') }} as invoice_id,
        {{ clean_text('number') }} as credit_note_number,

        ---------- status
        {{ normalise_code('status') }} as status,

        ---------- amounts
        {{ parse_decimal('total_excl_tax') }} as total_excl_tax,
        {{ parse_decimal('total_incl_tax') }} as total_incl_tax,

        ---------- dates
        {{ parse_date('date') }} as credit_note_date,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

),

flagged as (

    select
        *,
        {{ is_one_of('status', known_statuses) }} as is_known_status
    from renamed

)

select * from flagged
