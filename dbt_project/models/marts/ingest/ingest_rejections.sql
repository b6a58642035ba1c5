-- Rejected files and quarantined lines as published, with the file version they belong to.

with

rejections as (

    select * from {{ ref('stg_ingest__rejections') }}

),

final as (

    select
        cast(file_path as string) as file_path,
        cast(line_number as bigint) as line_number,
        cast(reason as string) as reason,
        cast(raw_line as string) as raw_line,
        cast(sha256 as string) as sha256,
        cast(run_id as string) as run_id
    from rejections

)

select * from final
