with

source as (

    select * from {{ source('ingest', 'ingest_rejections') }}

),

renamed as (

    select
        file_path,
        sha256,
        line_number,
        reason,
        raw_line,
        run_id
    from source

)

select * from renamed
