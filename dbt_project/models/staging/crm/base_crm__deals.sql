{%- set known_statuses = ['planned', 'in_progress', 'done', 'cancelled'] -%}

with

source as (

    select * from {{ source('crm', 'crm_deals') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as deal_id,
        {{ clean_text('company_id') }} as company_id,
        {{ clean_text('opportunity_id') }} as opportunity_id,
        {{ clean_text('owner_id') }} as owner_id,

        ---------- description
        {{ clean_text('name') }} as deal_name,
        {{ clean_text('mission_code') }} as mission_code,
        {{ normalise_code('status') }} as status,

        ---------- budgets
        {{ parse_decimal('budget_labour') }} as budget_labour,
        {{ parse_decimal('budget_purchases') }} as budget_purchases,
        {{ parse_decimal('budget_sales') }} as budget_sales,

        ---------- dates
        {{ parse_date('start_date') }} as start_date,
        {{ parse_date('end_date') }} as end_date,

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
