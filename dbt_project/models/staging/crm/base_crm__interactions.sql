{%- set known_kinds = ['comment', 'task', 'call', 'event'] -%}

with

source as (

    select * from {{ source('crm', 'crm_interactions') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as interaction_id,
        {{ clean_text('company_id') }} as company_id,
        {{ clean_text('author_id') }} as author_id,

        ---------- content
        {{ normalise_code('kind') }} as kind,
        {{ clean_text('text') }} as note_text,

        ---------- dates
        {{ parse_date('date') }} as interaction_date,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

),

flagged as (

    select
        *,
        {{ is_one_of('kind', known_kinds) }} as is_known_kind
    from renamed

)

select * from flagged
