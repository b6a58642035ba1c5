-- Practice documents (domain.md §6) under the project's client_id, with the day each one counts as processed.
-- The export is a snapshot: each document carries its current status only, so its history is rebuilt from its
-- received and processed dates.

with

documents as (

    select * from {{ ref('stg_practice__documents') }}

),

company_keys as (

    -- the practice export names companies by the id the CRM key map also uses
    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

latest_line as (

    -- a document listed twice keeps its last line (staging): the export appends a document's newer state
    select *
    from documents

),

resolved as (

    select
        latest_line.document_id,
        latest_line.company_id,
        -- a company unknown to the CRM and the client files keeps the convention's key, so its documents stay
        -- visible (dim_clients' relationship test warns about it)
        case
            when latest_line.company_id is not null
                then coalesce(company_keys.client_id, {{ crm_client_id('null', 'latest_line.company_id') }})
        end as client_id,
        coalesce(latest_line.method, 'unknown') as sending_method,
        latest_line.kind,
        latest_line.status,
        latest_line.status = 'processed' and coalesce(latest_line.is_auto_processed, false) as is_auto_processed,
        latest_line.received_date,
        latest_line.processed_date,
        -- a processed document without a readable processing date, or dated before its receipt, counts as
        -- processed the day it arrived
        case
            when latest_line.status = 'processed'
                then greatest(coalesce(latest_line.processed_date, latest_line.received_date), latest_line.received_date)
        end as processed_day,
        latest_line._source_file,
        latest_line._line_number
    from latest_line
    left join company_keys on latest_line.company_id = company_keys.company_id

)

select * from resolved
