{%- set known_statuses = ['open', 'won', 'lost', 'cancelled', 'closed', 'late'] -%}

with

source as (

    select * from {{ source('crm', 'crm_opportunities') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as opportunity_id,
        {{ clean_text('company_id') }} as company_id,
        {{ clean_text('owner_id') }} as owner_id,

        ---------- description
        {{ clean_text('name') }} as opportunity_name,
        {{ clean_text('pipeline') }} as pipeline,
        {{ clean_text('step') }} as step,
        {{ normalise_code('status') }} as status,

        ---------- numerics
        {{ parse_decimal('amount') }} as amount,
        {{ parse_decimal('probability', 5, 2) }} as probability_pct,

        ---------- dates
        {{ parse_date('created') }} as created_date,
        {{ parse_date('due_date') }} as due_date,
        {{ parse_date('closed_date') }} as closed_date,

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
