with

source as (

    select * from {{ source('practice', 'practice_supplier_rules') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as supplier_rule_id,
        {{ clean_text('company_id') }} as company_id,

        ---------- rule
        {{ clean_text('supplier') }} as supplier,
        {{ parse_boolean('active') }} as is_active,
        {{ parse_date('created_at') }} as created_date,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

)

select * from renamed
