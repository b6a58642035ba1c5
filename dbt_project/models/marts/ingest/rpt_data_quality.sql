{#- Every value kept but doubtful, with its file and line, so that nothing the pipeline keeps is doubtful
    without a word: what the loaders flagged line by line (unreadable secondary values, implausible dates,
    formula-like cells, ids written twice in a file), and the CRM's and practice export's codes the contract does
    not declare and ids written in more than one current file with different values
    (int_ingest__doubtful_export_values).
    Lines that could not be used at all are not here but in ingest_rejections. -#}

with

current_files as (

    select file_path, sha256, source
    from {{ ref('stg_ingest__files') }}
    where status = 'loaded'

),

loader_flags as (

    select
        current_files.source,
        flags.file_path,
        flags.line_number,
        flags.column_name,
        flags.value,
        flags.rule,
        flags.detail
    from {{ ref('stg_ingest__flags') }} as flags
    inner join current_files
        on flags.file_path = current_files.file_path and flags.sha256 = current_files.sha256

),

all_flags as (

    select * from loader_flags
    union all
    select * from {{ ref('int_ingest__doubtful_export_values') }}

),

final as (

    select
        cast(source as string) as source,
        cast(file_path as string) as file_path,
        cast(line_number as bigint) as line_number,
        cast(column_name as string) as column_name,
        cast(value as string) as value,
        cast(rule as string) as rule,
        cast(detail as string) as detail
    from all_flags

)

select * from final
