-- Every sales document of the firm (quotes, fee invoices, credit notes) under its client_id, classified as of the
-- reference date: what counts as billing, what is an accepted quote, which quotes are still pending, and where
-- each invoice stands in its payment (domain.md §4, seed 001 cards 1 to 3). Documents dated after the reference
-- date do not exist yet for it and count nowhere; a document without a date is kept (its date is unknown, not
-- future).

with

company_clients as (

    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

-- one row per document: a document listed twice (two export files) keeps its first line in staging
invoices as (

    select *
    from {{ ref('stg_crm__invoices') }}

),

credit_notes as (

    select *
    from {{ ref('stg_crm__credit_notes') }}

),

estimates as (

    select *
    from {{ ref('stg_crm__estimates') }}

),

unioned as (

    select
        'invoice' as document_type,
        invoice_id as document_id,
        company_id,
        invoice_number as document_number,
        status,
        invoice_date as document_date,
        due_date,
        paid_date,
        cast(null as date) as expiry_date,
        total_excl_tax,
        total_incl_tax,
        is_counted,
        false as is_accepted,
        false as is_awaiting_answer
    from invoices

    union all

    select
        'credit_note' as document_type,
        credit_note_id as document_id,
        company_id,
        credit_note_number as document_number,
        status,
        credit_note_date as document_date,
        cast(null as date) as due_date,
        cast(null as date) as paid_date,
        cast(null as date) as expiry_date,
        total_excl_tax,
        total_incl_tax,
        is_counted,
        false as is_accepted,
        false as is_awaiting_answer
    from credit_notes

    union all

    select
        'estimate' as document_type,
        estimate_id as document_id,
        company_id,
        estimate_number as document_number,
        status,
        estimate_date as document_date,
        cast(null as date) as due_date,
        cast(null as date) as paid_date,
        expiry_date,
        total_excl_tax,
        total_incl_tax,
        false as is_counted,
        is_accepted,
        is_awaiting_answer
    from estimates

),

dated as (

    select
        unioned.*,
        company_clients.client_id,
        coalesce(unioned.document_date <= {{ as_of_date() }}, true) as exists_at_as_of,
        -- paid at the reference date: an invoice paid later was still unpaid then
        unioned.status = 'paid' and coalesce(unioned.paid_date <= {{ as_of_date() }}, true) as is_paid_at_as_of
    from unioned
    left join company_clients using (company_id)

),

classified as (

    select
        *,
        -- what each status means (counted in billing, accepted, awaiting an answer) comes from staging, which
        -- reads it from the seed crm_document_statuses; the reference date decides the rest
        coalesce(exists_at_as_of and is_counted, false) as is_billed,
        coalesce(exists_at_as_of and document_type = 'estimate' and is_accepted, false) as is_accepted_quote,
        -- a quote still waiting for the client's answer, and not past its expiry date
        coalesce(
            exists_at_as_of and document_type = 'estimate' and is_awaiting_answer
            and coalesce(expiry_date >= {{ as_of_date() }}, true),
            false
        ) as is_pending_quote
    from dated

),

payment_states as (

    select
        *,
        case
            when document_type <> 'invoice' or not is_billed then null
            when is_paid_at_as_of then 'paid'
            -- unpaid: late when the CRM says so or when the due date has passed (due on the reference date
            -- itself is not late yet)
            when status = 'late' or due_date < {{ as_of_date() }} then 'late'
            else 'to_pay'
        end as payment_state
    from classified

),

final as (

    select
        document_type,
        document_id,
        client_id,
        company_id,
        document_number,
        status,
        document_date,
        due_date,
        paid_date,
        expiry_date,
        total_excl_tax,
        total_incl_tax,
        is_billed,
        is_accepted_quote,
        is_pending_quote,
        payment_state,
        case
            when payment_state = 'paid' and paid_date is not null
                then {{ dbt.datediff('document_date', 'paid_date', 'day') }}
        end as payment_days,
        coalesce(payment_state = 'paid' and paid_date > due_date, false) as is_paid_late
    from payment_states

)

select * from final
