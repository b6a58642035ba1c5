-- One row per company known to any source, under the project's client_id, with its CRM identity, its practice
-- file (collaborator, office, bookkeeping) and the months its ledgers cover.

with

keys as (

    select * from {{ ref('int_clients__keys') }}

),

crm_companies as (

    select * from {{ ref('stg_crm__companies') }}

),

client_files as (

    select * from {{ ref('stg_practice__client_files') }}

),

collaborators as (

    -- a collaborator listed twice keeps the first line's office
    select collaborator_id, office_id
    from {{ ref('stg_practice__collaborators') }}
    where collaborator_id is not null
    qualify row_number() over (partition by collaborator_id order by _source_file, _line_number) = 1

),

client_months as (

    select * from {{ ref('int_fec__client_months') }}

),

clients as (

    select
        client_id,
        max(siren) as siren,
        bool_or(is_in_crm) as is_in_crm,
        bool_or(is_in_practice) as is_in_practice,
        bool_or(is_in_ledger) as has_ledger
    from keys
    group by client_id

),

crm_company_per_client as (

    -- two CRM records sharing a SIREN are one client: keep the one typed 'client', then the smallest id
    select keys.client_id, crm_companies.*
    from keys
    inner join crm_companies
        on keys.key_source = 'crm_company' and keys.key_value = crm_companies.company_id
    qualify row_number() over (
        partition by keys.client_id
        order by crm_companies.account_type = 'client' desc, crm_companies.company_id asc, crm_companies._line_number asc
    ) = 1

),

client_file_per_client as (

    -- an active file wins over a deactivated one
    select keys.client_id, client_files.*
    from keys
    inner join client_files
        on (keys.key_source = 'crm_company' and keys.key_value = client_files.company_id)
        or (keys.key_source = 'practice_siren' and client_files.company_id is null
            and keys.key_value = client_files.siren)
    qualify row_number() over (
        partition by keys.client_id
        order by coalesce(client_files.is_deactivated, false), client_files.company_id, client_files._line_number
    ) = 1

),

parent_keys as (

    select key_value as company_id, client_id from keys where key_source = 'crm_company'

),

ledger_months as (

    select client_id, min(month) as first_ledger_month, max(month) as last_ledger_month
    from client_months
    group by client_id

),

joined as (

    select
        clients.client_id,
        clients.siren,
        crm_company_per_client.company_name as name,
        -- a company whose books or practice file the firm holds is its client, whatever the CRM lacks
        coalesce(
            crm_company_per_client.account_type,
            case when clients.is_in_practice or clients.has_ledger then 'client' end
        ) as account_type,
        parent_keys.client_id as parent_client_id,
        client_file_per_client.collaborator_id,
        collaborators.office_id,
        client_file_per_client.bookkeeping_by,
        client_file_per_client.bookkeeping_frequency,
        coalesce(client_file_per_client.is_deactivated, false) as is_deactivated,
        crm_company_per_client.naf,
        crm_company_per_client.company_id as crm_company_id,
        clients.has_ledger,
        ledger_months.first_ledger_month,
        ledger_months.last_ledger_month
    from clients
    left join crm_company_per_client using (client_id)
    left join client_file_per_client using (client_id)
    left join parent_keys on crm_company_per_client.parent_company_id = parent_keys.company_id
    left join collaborators on client_file_per_client.collaborator_id = collaborators.collaborator_id
    left join ledger_months using (client_id)

),

final as (

    select
        cast(client_id as varchar) as client_id,
        cast(siren as varchar) as siren,
        cast(name as varchar) as name,
        cast(account_type as varchar) as account_type,
        cast(parent_client_id as varchar) as parent_client_id,
        cast(collaborator_id as varchar) as collaborator_id,
        cast(office_id as varchar) as office_id,
        cast(bookkeeping_by as varchar) as bookkeeping_by,
        cast(bookkeeping_frequency as varchar) as bookkeeping_frequency,
        cast(is_deactivated as boolean) as is_deactivated,
        cast(naf as varchar) as naf,
        cast(crm_company_id as varchar) as crm_company_id,
        cast(has_ledger as boolean) as has_ledger,
        cast(first_ledger_month as date) as first_ledger_month,
        cast(last_ledger_month as date) as last_ledger_month
    from joined

)

select * from final
