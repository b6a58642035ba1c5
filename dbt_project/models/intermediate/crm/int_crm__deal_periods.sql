-- The period during which each CRM deal (affaire) was worked, the one fact the account statuses and the sales
-- pipeline read from deals. The dates decide, so a month-end status in the past follows what the dates say; the
-- status only fills what the dates cannot tell:
--   in_progress  from its start date, not ended whatever its planned end date (the CRM says it still runs);
--   done         from its start date to its end date, or to its start date when the end date is missing;
--   planned, cancelled   never worked: left out;
--   unknown status       by its dates (no end date = still running), kept and flagged by is_known_status.

with

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

company_clients as (

    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

worked as (

    -- a deal id written twice in the export keeps its first line (staging)
    select *
    from deals
    where coalesce(status not in ('planned', 'cancelled'), true)

),

periods as (

    select
        worked.deal_id,
        company_clients.client_id,
        worked.owner_id,
        worked.deal_name,
        worked.status,
        worked.is_known_status,
        worked.start_date as worked_from,
        case
            when worked.status = 'in_progress' then null
            when worked.status = 'done' then coalesce(worked.end_date, worked.start_date)
            else worked.end_date
        end as worked_until,
        worked._source_file,
        worked._line_number
    from worked
    left join company_clients using (company_id)

)

select * from periods
