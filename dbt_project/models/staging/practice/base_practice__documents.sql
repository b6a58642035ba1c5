{%- set known_methods = ['app', 'email', 'upload', 'fetch', 'whatsapp'] -%}
{%- set known_kinds = ['purchase', 'sale', 'receipt'] -%}
{%- set known_statuses = ['to_review', 'ready', 'processed'] -%}

with

source as (

    select * from {{ source('practice', 'practice_documents') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as document_id,
        {{ clean_text('company_id') }} as company_id,

        ---------- document
        {{ normalise_code('method') }} as method,
        {{ normalise_code('kind') }} as kind,
        {{ normalise_code('status') }} as status,
        {{ parse_boolean('auto_rule') }} as is_auto_processed,

        ---------- dates
        {{ parse_date('received_at') }} as received_date,
        {{ parse_date('processed_at') }} as processed_date,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

),

flagged as (

    select
        *,
        {{ is_one_of('method', known_methods) }} as is_known_method,
        {{ is_one_of('kind', known_kinds) }} as is_known_kind,
        {{ is_one_of('status', known_statuses) }} as is_known_status
    from renamed

)

select * from flagged
