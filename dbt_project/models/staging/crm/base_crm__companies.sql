{#- The contract's account types (English, as the Sellsy API writes them); the French names of the firm's own CRM
    vocabulary (seed 004) are read as their English equivalents. -#}
{%- set known_account_types = ['client', 'prospect', 'supplier', 'competitor', 'group', 'internal', 'partner'] -%}

with

source as (

    select * from {{ source('crm', 'crm_companies') }}

),

renamed as (

    select

        ---------- ids
        {{ clean_text('id') }} as company_id,
        {{ clean_text('parent_id') }} as parent_company_id,
        {{ clean_text('owner_id') }} as owner_id,

        ---------- identity
        {{ clean_text('name') }} as company_name,
        {{ normalise_siren('siren') }} as siren,
        {{ clean_text('siren') }} as siren_as_received,
        upper({{ clean_text('naf') }}) as naf,

        ---------- type
        case {{ normalise_code('type') }}
            when 'concurrent' then 'competitor'
            when 'groupe' then 'group'
            when 'interne' then 'internal'
            when 'partenaire' then 'partner'
            when 'fournisseur' then 'supplier'
            else {{ normalise_code('type') }}
        end as account_type,

        ---------- dates
        {{ parse_date('created') }} as created_date,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

),

flagged as (

    select
        *,
        {{ is_one_of('account_type', known_account_types) }} as is_known_account_type
    from renamed

)

select * from flagged
