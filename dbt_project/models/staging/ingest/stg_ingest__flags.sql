with

source as (

    select * from {{ source('ingest', 'ingest_flags') }}

),

renamed as (

    select
        file_path,
        sha256,
        line_number,
        column_name,
        value,
        rule,
        detail,
        run_id
    from source

)

select * from renamed
