-- The ingestion ledger as published: one row per input file version seen, with what became of its lines.

with

files as (

    select * from {{ ref('stg_ingest__files') }}

),

conformity as (

    -- the FEC conformity report (rpt_fec_conformity) in three figures per file version
    select
        sha256,
        count(*) filter (where status = 'error') as conformity_errors,
        count(*) filter (where status = 'warning') as conformity_warnings
    from {{ ref('rpt_fec_conformity') }}
    group by sha256

),

final as (

    select
        cast(files.file_path as string) as file_path,
        cast(files.source as string) as source,
        cast(files.client_id as string) as client_id,
        cast(files.sha256 as string) as sha256,
        cast(files.status as string) as status,
        cast(files.rows_read as bigint) as rows_read,
        cast(files.rows_loaded as bigint) as rows_loaded,
        cast(files.rows_quarantined as bigint) as rows_quarantined,
        cast(files.warnings as {{ vigie.type_json() }}) as warnings,
        cast(files.loaded_at as timestamp) as loaded_at,
        cast(files.run_id as string) as run_id,
        cast(files.entity as string) as entity,
        cast(files.superseded_by as string) as superseded_by,
        cast(files.details as {{ vigie.type_json() }}) as details,
        cast(
            case
                when conformity.sha256 is null then null
                when conformity.conformity_errors > 0 then 'error'
                when conformity.conformity_warnings > 0 then 'warning'
                else 'ok'
            end as string
        ) as conformity_status,
        cast(conformity.conformity_errors as bigint) as conformity_errors,
        cast(conformity.conformity_warnings as bigint) as conformity_warnings
    from files
    left join conformity
        on files.source = 'accounting'
        and files.status = 'loaded'
        and files.sha256 = conformity.sha256

)

select * from final
