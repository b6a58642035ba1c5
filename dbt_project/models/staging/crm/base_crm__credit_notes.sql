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

statuses as (

    -- what each declared status means to the firm (seed crm_document_statuses), read once here
    select status, is_counted
    from {{ ref('crm_document_statuses') }}
    where document_type = 'credit_note'

),

flagged as (

    select
        renamed.*,
        statuses.status is not null as is_known_status,
        coalesce(statuses.is_counted, false) as is_counted
    from renamed
    left join statuses on renamed.status = statuses.status

)

select * from flagged
