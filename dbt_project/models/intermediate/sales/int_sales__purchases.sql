-- The documents that make each client's purchases (seed 001, "Relation client" and "Aperçu des ventes"): its
-- billed invoices minus its billed credit notes when it has any; otherwise, and only then, its accepted quotes.
-- Never both, so a quote that was later invoiced is not counted twice. Amounts are signed: a credit note
-- subtracts.

with

documents as (

    select * from {{ ref('int_sales__documents') }}
    where client_id is not null

),

candidates as (

    select
        *,
        bool_or(is_billed) over (partition by client_id) as client_has_billing
    from documents
    where is_billed or is_accepted_quote

),

chosen as (

    select
        *,
        case when client_has_billing then 'invoices' else 'accepted_quotes' end as purchases_basis
    from candidates
    where (client_has_billing and is_billed) or (not client_has_billing and is_accepted_quote)

),

final as (

    select
        client_id,
        purchases_basis,
        document_type,
        document_id,
        document_date,
        -- invoices and accepted quotes are purchases; a credit note only corrects the amount
        document_type <> 'credit_note' as is_purchase_document,
        case when document_type = 'credit_note' then -total_excl_tax else total_excl_tax end as signed_amount_excl_tax,
        case when document_type = 'credit_note' then -total_incl_tax else total_incl_tax end as signed_amount_incl_tax
    from chosen

)

select * from final
