-- Opportunities still in the pipeline at the reference date, under their client_id (seed 001, "Documents en
-- cours"): status open, or late (open and past its expected date). Won, lost, cancelled and closed ones are over;
-- an unknown status (flagged in staging) is not counted as open. An opportunity created after the reference
-- date does not exist yet for it.

with

company_clients as (

    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

opportunities as (

    select *
    from {{ ref('stg_crm__opportunities') }}

),

open_opportunities as (

    select
        company_clients.client_id,
        opportunities.opportunity_id,
        opportunities.company_id,
        opportunities.opportunity_name,
        opportunities.status,
        opportunities.pipeline,
        opportunities.step,
        opportunities.amount,
        opportunities.probability_pct,
        opportunities.created_date,
        opportunities.due_date
    from opportunities
    left join company_clients using (company_id)
    where opportunities.status in ('open', 'late')
        and coalesce(opportunities.created_date <= {{ as_of_date() }}, true)

)

select * from open_opportunities
