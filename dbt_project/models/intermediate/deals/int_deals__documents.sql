-- Every document that counts toward a known deal (domain.md §5, seed 002), in one shape so fct_deals
-- aggregates a single table:
--   invoice      the deal's invoices that count (is_counted, from seed crm_document_statuses: due,
--                payinprogress, paid, late): sales, excl. tax;
--   credit_note  credit notes that count (stored, partialspend, spent) on such an invoice: negative sales;
--                a credit note on a cancelled or draft invoice is left out, the invoice being already out;
--   purchase     purchases booked on the deal: excl. tax;
--   time_entry   time entries matched to the deal (int_time__entries_matched): hours and, when the
--                collaborator and their hourly cost are known, cost.
-- The matching is int_deals__documents_matched's and int_time__entries_matched's: this model keeps what they
-- matched to a deal (what they could not match is listed in rpt_unmatched_records). A document without an id
-- cannot be told apart from another and is left out here (it stays in the unmatched report when unmatched).
-- is_outside_deal_dates: the document is dated before the deal's start or after its end (seed 002: "la date
-- d'un document de vente ou d'achat est incohérente avec l'affaire"); an empty date on either side is no bound.


with

deals as (

    select deal_id, start_date, end_date from {{ ref('int_deals__deals') }}

),

matched_documents as (

    select * from {{ ref('int_deals__documents_matched') }}
    where deal_id is not null and document_id is not null

),

time_entries as (

    select * from {{ ref('int_time__entries_matched') }}
    where deal_id is not null

),

documents as (

    select
        document_type,
        document_id,
        deal_id,
        document_date,
        case document_type
            when 'invoice' then total_excl_tax
            when 'credit_note' then -total_excl_tax
        end as sales_excl_tax,
        case when document_type = 'purchase' then total_excl_tax end as purchases_excl_tax,
        null as labour_hours,
        null as labour_cost,
        _source_file,
        _line_number
    from matched_documents

    union all

    select
        'time_entry' as document_type,
        time_entry_key as document_id,
        deal_id,
        entry_date as document_date,
        null as sales_excl_tax,
        null as purchases_excl_tax,
        duration_hours as labour_hours,
        labour_cost,
        _source_file,
        _line_number
    from time_entries

),

dated as (

    select
        documents.document_type,
        documents.document_id,
        documents.deal_id,
        documents.document_date,
        cast(documents.sales_excl_tax as decimal(18, 2)) as sales_excl_tax,
        cast(documents.purchases_excl_tax as decimal(18, 2)) as purchases_excl_tax,
        cast(documents.labour_hours as decimal(12, 4)) as labour_hours,
        cast(documents.labour_cost as decimal(38, 6)) as labour_cost,
        coalesce(
            documents.document_date < deals.start_date or documents.document_date > deals.end_date, false
        ) as is_outside_deal_dates,
        documents._source_file,
        documents._line_number
    from documents
    inner join deals using (deal_id)

)

select * from dated
