-- Every CRM document that must point to a deal or an invoice, matched once (domain.md §5, seed 002), with
-- is_matched and unmatched_reason; int_deals__documents keeps what counts toward a deal, rpt_unmatched_records
-- lists the rest. Which documents must point somewhere:
--   invoice      a counted invoice naming a deal (an invoice without deal is not a deal's)  → deal
--                unknown_deal: no deal has that id
--   credit_note  a counted credit note naming an invoice                                   → invoice
--                unknown_invoice: no invoice has that id, whatever its status
--   purchase     every purchase, with or without an id (a purchase is always a deal's cost) → deal
--                no_deal: it names none; unknown_deal: no deal has that id
-- deal_id is the known deal the document counts toward: its own for an invoice or a purchase, its invoice's for a
-- credit note when that invoice counts (a credit note on a cancelled or draft invoice is left out with it).
-- Draft, cancelled and unknown statuses never count anywhere, so they are not here.

with

deals as (

    select deal_id from {{ ref('int_deals__deals') }}

),

invoices as (

    select * from {{ ref('stg_crm__invoices') }}
    where invoice_id is not null

),

counted_invoices_on_deals as (

    -- is_counted comes from seed crm_document_statuses, read once in staging
    select invoices.*, deals.deal_id is not null as is_deal_known
    from invoices
    left join deals using (deal_id)
    where invoices.is_counted and invoices.deal_id is not null

),

credit_notes as (

    select * from {{ ref('stg_crm__credit_notes') }}
    where credit_note_id is not null and is_counted and invoice_id is not null

),

purchases as (

    select * from {{ ref('stg_crm__purchases') }}

),

invoice_matches as (

    select
        'invoice' as document_type,
        invoice_id as document_id,
        invoice_number as document_number,
        'deal' as match_target,
        deal_id as named_deal_id,
        cast(null as string) as named_invoice_id,
        case when is_deal_known then deal_id end as deal_id,
        is_deal_known as is_matched,
        case when not is_deal_known then 'unknown_deal' end as unmatched_reason,
        company_id,
        status,
        cast(null as string) as supplier,
        invoice_date as document_date,
        total_excl_tax,
        _source_file,
        _line_number
    from counted_invoices_on_deals

),

credit_note_matches as (

    select
        'credit_note' as document_type,
        credit_notes.credit_note_id as document_id,
        credit_notes.credit_note_number as document_number,
        'invoice' as match_target,
        cast(null as string) as named_deal_id,
        credit_notes.invoice_id as named_invoice_id,
        counted.deal_id,
        invoices.invoice_id is not null as is_matched,
        case when invoices.invoice_id is null then 'unknown_invoice' end as unmatched_reason,
        credit_notes.company_id,
        credit_notes.status,
        cast(null as string) as supplier,
        credit_notes.credit_note_date as document_date,
        credit_notes.total_excl_tax,
        credit_notes._source_file,
        credit_notes._line_number
    from credit_notes
    left join invoices on credit_notes.invoice_id = invoices.invoice_id
    left join counted_invoices_on_deals as counted
        on credit_notes.invoice_id = counted.invoice_id and counted.is_deal_known

),

purchase_matches as (

    select
        'purchase' as document_type,
        purchases.purchase_id as document_id,
        cast(null as string) as document_number,
        'deal' as match_target,
        purchases.deal_id as named_deal_id,
        cast(null as string) as named_invoice_id,
        deals.deal_id,
        deals.deal_id is not null as is_matched,
        case
            when purchases.deal_id is null then 'no_deal'
            when deals.deal_id is null then 'unknown_deal'
        end as unmatched_reason,
        cast(null as string) as company_id,
        cast(null as string) as status,
        purchases.supplier,
        purchases.purchase_date as document_date,
        purchases.total_excl_tax,
        purchases._source_file,
        purchases._line_number
    from purchases
    left join deals on purchases.deal_id = deals.deal_id

),

unioned as (

    select * from invoice_matches
    union all
    select * from credit_note_matches
    union all
    select * from purchase_matches

),

final as (

    select
        cast(document_type as string) as document_type,
        -- a purchase without an id is still a record: it is known by its file and line
        cast(coalesce(document_id, _source_file || ':' || cast(_line_number as string)) as string) as document_key,
        cast(document_id as string) as document_id,
        cast(document_number as string) as document_number,
        cast(match_target as string) as match_target,
        cast(named_deal_id as string) as named_deal_id,
        cast(named_invoice_id as string) as named_invoice_id,
        cast(deal_id as string) as deal_id,
        is_matched,
        cast(unmatched_reason as string) as unmatched_reason,
        cast(company_id as string) as company_id,
        cast(status as string) as status,
        cast(supplier as string) as supplier,
        document_date,
        cast(total_excl_tax as decimal(18, 2)) as total_excl_tax,
        _source_file,
        _line_number
    from unioned

)

select * from final
