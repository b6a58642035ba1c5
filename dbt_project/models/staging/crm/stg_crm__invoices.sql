{%- set known_statuses = ['draft', 'due', 'payinprogress', 'paid', 'late', 'cancelled'] -%}

with

source as (

    select * from {{ source('crm', 'crm_invoices') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as invoice_id,
        {{ clean_text('company_id') }} as company_id,
        {{ clean_text('deal_id') }} as deal_id,
        {{ clean_text('number') }} as invoice_number,

        ---------- status
        {{ normalise_code('status') }} as status,

        ---------- amounts
        {{ parse_decimal('total_excl_tax') }} as total_excl_tax,
        {{ parse_decimal('total_incl_tax') }} as total_incl_tax,

        ---------- dates
        {{ parse_date('date') }} as invoice_date,
        {{ parse_date('due_date') }} as due_date,
        {{ parse_date('paid_date') }} as paid_date,

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
