{%- set known_bookkeeping_by = ['firm', 'client'] -%}
{%- set known_frequencies = ['monthly', 'quarterly', 'yearly'] -%}

with

source as (

    select * from {{ source('practice', 'practice_client_files') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('company_id') }} as company_id,
        {{ normalise_siren('siren') }} as siren,
        {{ clean_text('siren') }} as siren_as_received,
        {{ clean_text('collaborator_id') }} as collaborator_id,

        ---------- bookkeeping
        {{ normalise_code('bookkeeping_by') }} as bookkeeping_by,
        {{ normalise_code('frequency') }} as bookkeeping_frequency,
        {{ parse_boolean('deactivated') }} as is_deactivated,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

),

flagged as (

    select
        *,
        {{ is_one_of('bookkeeping_by', known_bookkeeping_by) }} as is_known_bookkeeping_by,
        {{ is_one_of('bookkeeping_frequency', known_frequencies) }} as is_known_bookkeeping_frequency
    from renamed

)

select * from flagged
