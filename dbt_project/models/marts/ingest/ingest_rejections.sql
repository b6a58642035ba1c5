-- Rejected files and quarantined lines as published, with the file version they belong to.

with

rejections as (

    select * from {{ ref('stg_ingest__rejections') }}

),

final as (

    select
        cast(file_path as varchar) as file_path,
        cast(line_number as bigint) as line_number,
        cast(reason as varchar) as reason,
        cast(raw_line as varchar) as raw_line,
        cast(sha256 as varchar) as sha256,
        cast(run_id as varchar) as run_id
    from rejections

)

select * from final
