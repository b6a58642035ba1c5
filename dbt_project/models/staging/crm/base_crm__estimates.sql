with

source as (

    select * from {{ source('crm', 'crm_estimates') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as estimate_id,
        {{ clean_text('company_id') }} as company_id,
        {{ clean_text('deal_id') }} as deal_id,
        {{ clean_text('number') }} as estimate_number,

        ---------- status
        {{ normalise_code('status') }} as status,

        ---------- amounts
        {{ parse_decimal('total_excl_tax') }} as total_excl_tax,
        {{ parse_decimal('total_incl_tax') }} as total_incl_tax,

        ---------- dates
        {{ parse_date('date') }} as estimate_date,
        {{ parse_date('expiry_date') }} as expiry_date,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

),

statuses as (

    -- what each declared status means to the firm (seed crm_document_statuses), read once here
    select status, is_accepted, is_awaiting_answer
    from {{ ref('crm_document_statuses') }}
    where document_type = 'estimate'

),

flagged as (

    select
        renamed.*,
        statuses.status is not null as is_known_status,
        coalesce(statuses.is_accepted, false) as is_accepted,
        coalesce(statuses.is_awaiting_answer, false) as is_awaiting_answer
    from renamed
    left join statuses on renamed.status = statuses.status

)

select * from flagged
