-- The ingestion ledger as published: one row per input file version seen, with what became of its lines.

with

files as (

    select * from {{ ref('stg_ingest__files') }}

),

final as (

    select
        cast(file_path as varchar) as file_path,
        cast(source as varchar) as source,
        cast(client_id as varchar) as client_id,
        cast(sha256 as varchar) as sha256,
        cast(status as varchar) as status,
        cast(rows_read as bigint) as rows_read,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        cast(warnings as json) as warnings,
        cast(loaded_at as timestamp) as loaded_at,
        cast(run_id as varchar) as run_id,
        cast(entity as varchar) as entity,
        cast(superseded_by as varchar) as superseded_by,
        cast(details as json) as details
    from files

)

select * from final
