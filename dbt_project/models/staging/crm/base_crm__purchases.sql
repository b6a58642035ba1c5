with

source as (

    select * from {{ source('crm', 'crm_purchases') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as purchase_id,
        {{ clean_text('deal_id') }} as deal_id,

        ---------- description
        {{ clean_text('supplier') }} as supplier,

        ---------- amounts
        {{ parse_decimal('total_excl_tax') }} as total_excl_tax,

        ---------- dates
        {{ parse_date('date') }} as purchase_date,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

)

select * from renamed
