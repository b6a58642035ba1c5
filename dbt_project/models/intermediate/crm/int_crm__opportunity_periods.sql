-- Each CRM opportunity with its outcome and the period it was open, read by the account statuses and the sales
-- pipeline. As for deals, the dates decide and the status fills what they cannot tell:
--   open, late                 open since its creation, not closed (a closed date written anyway is ignored);
--   won, lost, cancelled, closed   open from its creation to its closed date; closed on its creation date when
--                              the closed date is missing;
--   unknown status             outcome 'unknown', closed on its closed date when there is one; kept and flagged.

with

opportunities as (

    select * from {{ ref('stg_crm__opportunities') }}

),

company_clients as (

    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

deduplicated as (

    -- an opportunity id written twice in the export keeps its first line (staging)
    select *
    from opportunities

),

periods as (

    select
        deduplicated.opportunity_id,
        company_clients.client_id,
        deduplicated.owner_id,
        deduplicated.opportunity_name,
        deduplicated.status,
        deduplicated.is_known_status,
        case
            when deduplicated.status in ('open', 'late') then 'open'
            when deduplicated.status in ('won', 'lost') then deduplicated.status
            -- closed without a won/lost outcome: out of the pipeline, out of the win rate
            when deduplicated.status in ('cancelled', 'closed') then 'closed_without_outcome'
            else 'unknown'
        end as outcome,
        deduplicated.amount,
        deduplicated.probability_pct,
        deduplicated.created_date as opened_on,
        case
            when deduplicated.status in ('open', 'late') then null
            when deduplicated.is_known_status then coalesce(deduplicated.closed_date, deduplicated.created_date)
            else deduplicated.closed_date
        end as closed_on,
        deduplicated.due_date,
        deduplicated._source_file,
        deduplicated._line_number
    from deduplicated
    left join company_clients using (company_id)

)

select * from periods
