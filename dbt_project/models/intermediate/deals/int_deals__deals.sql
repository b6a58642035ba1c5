-- One row per CRM deal (affaire) with the project's client_id. A deal id written twice in the export keeps its
-- first line (stg_crm__deals warns about the duplicate); a deal without an id cannot be referred to by any
-- document and is left out. A deal is matched to its company here: one whose company is unknown keeps an empty
-- client_id, is_matched false and an unmatched_reason (no_company, unknown_company), and rpt_unmatched_records
-- lists it.

with

deals as (

    select * from {{ ref('stg_crm__deals') }}
    where deal_id is not null

),

company_keys as (

    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

joined as (

    select
        deals.deal_id,
        deals.company_id,
        company_keys.client_id,
        company_keys.client_id is not null as is_matched,
        case
            when deals.company_id is null then 'no_company'
            when company_keys.client_id is null then 'unknown_company'
        end as unmatched_reason,
        deals.opportunity_id,
        deals.owner_id,
        deals.deal_name,
        deals.mission_code,
        deals.status,
        deals.is_known_status,
        deals.start_date,
        deals.end_date,
        deals.budget_labour,
        deals.budget_purchases,
        deals.budget_sales,
        deals._source_file,
        deals._line_number
    from deals
    left join company_keys using (company_id)

)

select * from joined
