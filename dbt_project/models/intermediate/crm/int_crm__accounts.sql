-- Every company under its client_id, with its CRM identity when the CRM knows it: the CRM record kept for the
-- client, its type in the CRM's words (account_type) and in seed 004's (account_category), its parent (group)
-- account and its creation date. dim_clients and the account statuses take the CRM identity from here.

with

keys as (

    select * from {{ ref('int_clients__keys') }}

),

crm_companies as (

    select * from {{ ref('stg_crm__companies') }}

),

clients as (

    select distinct client_id from keys

),

company_clients as (

    select key_value as company_id, client_id
    from keys
    where key_source = 'crm_company'

),

crm_company_per_client as (

    -- two CRM records sharing a SIREN are one client: keep the one typed 'client', then the smallest id
    select {{ vigie.star_except(['_rank']) }}
    from (
        select
            company_clients.client_id,
            crm_companies.*,
            row_number() over (
                partition by company_clients.client_id
                order by
                    crm_companies.account_type = 'client' desc,
                    crm_companies.company_id asc,
                    crm_companies._line_number asc
            ) as _rank
        from company_clients
        inner join crm_companies using (company_id)
    ) as ranked
    where _rank = 1

),

categorised as (

    -- seed 004 knows five types: a prospect is a client account whose status says how far the relation went,
    -- and a supplier is a company the firm works with, a partner; an unknown type has no category
    select
        *,
        case account_type
            when 'client' then 'client'
            when 'prospect' then 'client'
            when 'competitor' then 'concurrent'
            when 'group' then 'groupe'
            when 'internal' then 'interne'
            when 'partner' then 'partenaire'
            when 'supplier' then 'partenaire'
        end as account_category
    from crm_company_per_client

),

joined as (

    select
        clients.client_id,
        categorised.company_id as crm_company_id,
        categorised.company_name,
        categorised.account_type,
        categorised.account_category,
        categorised.is_known_account_type,
        categorised.parent_company_id,
        -- a parent that is the company itself (two CRM records of one SIREN) is no parent
        nullif(parents.client_id, clients.client_id) as parent_client_id,
        categorised.created_date,
        categorised.owner_id,
        categorised.naf
    from clients
    left join categorised using (client_id)
    left join company_clients as parents on categorised.parent_company_id = parents.company_id

)

select * from joined
