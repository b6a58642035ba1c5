with

source as (

    select * from {{ source('practice', 'practice_offices') }}

),

renamed as (

    select
        {{ clean_text('id') }} as office_id,
        {{ clean_text('name') }} as office_name,
        _file_sha256,
        _source_file,
        _line_number
    from source

)

select * from renamed
