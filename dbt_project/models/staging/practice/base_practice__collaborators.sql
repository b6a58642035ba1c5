with

source as (

    select * from {{ source('practice', 'practice_collaborators') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as collaborator_id,
        {{ clean_text('office_id') }} as office_id,

        ---------- identity
        {{ clean_text('name') }} as collaborator_name,
        lower({{ clean_text('email') }}) as email,

        ---------- cost and state
        {{ parse_decimal('hourly_cost') }} as hourly_cost,
        {{ parse_boolean('active') }} as is_active,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

)

select * from renamed
