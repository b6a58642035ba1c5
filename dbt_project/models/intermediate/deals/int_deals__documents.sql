-- Every document that counts toward a known deal (domain.md §5, seed 002), in one shape so fct_deals
-- aggregates a single table:
--   invoice      the deal's invoices that count (is_counted, from seed crm_document_statuses: due,
--                payinprogress, paid, late): sales, excl. tax;
--   credit_note  credit notes that count (stored, partialspend, spent) on such an invoice: negative sales;
--                a credit note on a cancelled or draft invoice is left out, the invoice being already out;
--   purchase     purchases booked on the deal: excl. tax;
--   time_entry   time entries matched to the deal (int_time__entries_matched): hours and, when the
--                collaborator and their hourly cost are known, cost.
-- Draft, cancelled and unknown statuses never count. A document id written twice keeps its first line (staging).
-- is_outside_deal_dates: the document is dated before the deal's start or after its end (seed 002: "la date
-- d'un document de vente ou d'achat est incohérente avec l'affaire"); an empty date on either side is no bound.
-- Documents naming a deal or invoice that does not exist are listed in rpt_unmatched_records.


with

deals as (

    select deal_id, start_date, end_date from {{ ref('int_deals__deals') }}

),

invoices as (

    select * from {{ ref('stg_crm__invoices') }}
    where invoice_id is not null and is_counted

),

credit_notes as (

    select * from {{ ref('stg_crm__credit_notes') }}
    where credit_note_id is not null and is_counted

),

purchases as (

    select * from {{ ref('stg_crm__purchases') }}
    where purchase_id is not null

),

time_entries as (

    select * from {{ ref('int_time__entries_matched') }}
    where deal_id is not null

),

documents as (

    select
        'invoice' as document_type,
        invoice_id as document_id,
        deal_id,
        invoice_date as document_date,
        total_excl_tax as sales_excl_tax,
        null as purchases_excl_tax,
        null as labour_hours,
        null as labour_cost,
        _source_file,
        _line_number
    from invoices
    where deal_id is not null

    union all

    select
        'credit_note' as document_type,
        credit_notes.credit_note_id as document_id,
        invoices.deal_id,
        credit_notes.credit_note_date as document_date,
        -credit_notes.total_excl_tax as sales_excl_tax,
        null as purchases_excl_tax,
        null as labour_hours,
        null as labour_cost,
        credit_notes._source_file,
        credit_notes._line_number
    from credit_notes
    inner join invoices using (invoice_id)
    where invoices.deal_id is not null

    union all

    select
        'purchase' as document_type,
        purchase_id as document_id,
        deal_id,
        purchase_date as document_date,
        null as sales_excl_tax,
        total_excl_tax as purchases_excl_tax,
        null as labour_hours,
        null as labour_cost,
        _source_file,
        _line_number
    from purchases
    where deal_id is not null

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
