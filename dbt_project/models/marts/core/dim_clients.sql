-- One row per company known to any source, under the project's client_id, with its CRM identity, its practice
-- file (collaborator, office, bookkeeping) and the months its ledgers cover.

with

keys as (

    select * from {{ ref('int_clients__keys') }}

),

crm_accounts as (

    -- the CRM record kept for each client, its type, category and parent account
    select * from {{ ref('int_crm__accounts') }}

),

client_files as (

    select * from {{ ref('stg_practice__client_files') }}

),

collaborators as (

    -- a collaborator listed twice keeps the first line's office (staging)
    select collaborator_id, office_id
    from {{ ref('stg_practice__collaborators') }}
    where collaborator_id is not null

),

ledger_spans as (

    select * from {{ ref('int_fec__client_ledger_span') }}

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

client_file_per_client as (

    -- an active file wins over a deactivated one
    select {{ vigie.star_except(['_rank']) }}
    from (
        select
            keys.client_id,
            client_files.*,
            row_number() over (
                partition by keys.client_id
                order by
                    coalesce(client_files.is_deactivated, false), client_files.company_id, client_files._line_number
            ) as _rank
        from keys
        inner join client_files
            on (keys.key_source = 'crm_company' and keys.key_value = client_files.company_id)
            or (keys.key_source = 'practice_siren' and client_files.company_id is null
                and keys.key_value = client_files.siren)
    ) as ranked
    where _rank = 1

),

joined as (

    select
        clients.client_id,
        clients.siren,
        crm_accounts.company_name as name,
        -- a company whose books or practice file the firm holds is its client, whatever the CRM lacks
        coalesce(
            crm_accounts.account_type,
            case when clients.is_in_practice or clients.has_ledger then 'client' end
        ) as account_type,
        coalesce(
            crm_accounts.account_category,
            case when crm_accounts.account_type is null and (clients.is_in_practice or clients.has_ledger) then 'client' end
        ) as account_category,
        crm_accounts.parent_client_id,
        client_file_per_client.collaborator_id,
        collaborators.office_id,
        client_file_per_client.bookkeeping_by,
        client_file_per_client.bookkeeping_frequency,
        coalesce(client_file_per_client.is_deactivated, false) as is_deactivated,
        crm_accounts.naf,
        crm_accounts.crm_company_id,
        clients.has_ledger,
        ledger_spans.first_ledger_month,
        ledger_spans.last_ledger_month
    from clients
    left join crm_accounts using (client_id)
    left join client_file_per_client using (client_id)
    left join collaborators on client_file_per_client.collaborator_id = collaborators.collaborator_id
    left join ledger_spans using (client_id)

),

final as (

    select
        cast(client_id as string) as client_id,
        cast(siren as string) as siren,
        cast(name as string) as name,
        cast(account_type as string) as account_type,
        cast(parent_client_id as string) as parent_client_id,
        cast(collaborator_id as string) as collaborator_id,
        cast(office_id as string) as office_id,
        cast(bookkeeping_by as string) as bookkeeping_by,
        cast(bookkeeping_frequency as string) as bookkeeping_frequency,
        cast(is_deactivated as boolean) as is_deactivated,
        cast(naf as string) as naf,
        cast(crm_company_id as string) as crm_company_id,
        cast(has_ledger as boolean) as has_ledger,
        cast(first_ledger_month as date) as first_ledger_month,
        cast(last_ledger_month as date) as last_ledger_month,
        cast(account_category as string) as account_category
    from joined

)

select * from final
