with

source as (

    select * from {{ source('timetracking', 'time_entries') }}

),

renamed as (

    select

        ---------- origin
        lower(trim(source_format)) as source_format,

        ---------- who and for whom
        {{ clean_text('user_name') }} as user_name,
        lower({{ clean_text('user_email') }}) as user_email,
        {{ clean_text('client_name') }} as client_name,
        {{ clean_text('project_name') }} as project_name,
        {{ clean_text('project_code') }} as project_code,
        {{ clean_text('task') }} as task,
        {{ clean_text('description') }} as description,

        ---------- time and money
        entry_date,
        duration_hours,
        billable as is_billable,
        billable_rate,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

)

select * from renamed
