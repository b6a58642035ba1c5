with

source as (

    select * from {{ source('ingest', 'ingest_files') }}

),

renamed as (

    select

        ---------- file version
        file_path,
        source,
        entity,
        sha256,
        -- a FEC file whose lines were loaded gets the client_id its lines carry; a rejected one only when its
        -- name gave a SIREN
        case
            when source = 'accounting' and status in ('loaded', 'superseded')
                then {{ fec_client_id(normalise_siren('client_id'), 'client_id', 'file_path') }}
            when source = 'accounting'
                then coalesce({{ normalise_siren('client_id') }}, 'fec-' || {{ clean_text('client_id') }})
            else {{ clean_text('client_id') }}
        end as client_id,
        {{ normalise_siren('client_id') }} as siren,

        ---------- outcome
        lower(status) as status,
        rows_read,
        rows_loaded,
        rows_quarantined,
        try_cast(warnings as {{ vigie.type_json() }}) as warnings,
        try_cast(details as {{ vigie.type_json() }}) as details,
        supersede_key,
        version_rank_key,
        superseded_by,

        ---------- run
        loaded_at,
        run_id

    from source

)

select * from renamed
