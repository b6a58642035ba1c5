-- What each client bought, per product: quantity and revenue (excl. tax) summed over the lines of its purchase
-- documents (billed invoices, or accepted quotes for a client without billing; credit-note lines are
-- corrections, not products bought), ranked both ways with a deterministic tie-break.

with

purchase_documents as (

    select client_id, document_type, document_id, document_date
    from {{ ref('int_sales__purchases') }}
    where is_purchase_document

),

lines as (

    select
        document_type,
        document_id,
        line_no,
        product_ref,
        product_name,
        quantity,
        total_excl_tax,
        -- a product is its reference; a line without one is known by its name, a line with neither is unnamed
        -- and left out
        coalesce(product_ref, product_name) as product_key
    from {{ ref('stg_crm__document_lines') }}
    where coalesce(product_ref, product_name) is not null

),

purchased_lines as (

    select purchase_documents.client_id, purchase_documents.document_date, lines.*
    from lines
    inner join purchase_documents using (document_type, document_id)

),

per_product as (

    select
        client_id,
        product_key,
        max(product_ref) as product_ref,
        -- names often carry the period ('Tenue comptable - 03/2026'): show the latest line's
        max_by(product_name, {{ row_of(['document_date', 'document_id', 'line_no']) }}) filter (where product_name is not null)
            as product_name,
        cast(coalesce(sum(quantity), 0) as decimal(18, 4)) as quantity,
        cast(coalesce(sum(total_excl_tax), 0) as decimal(18, 2)) as revenue_excl_tax,
        count(*) as line_count
    from purchased_lines
    group by client_id, product_key

),

ranked as (

    select
        *,
        -- ties: the other measure decides, then the product key in alphabetical order
        row_number() over (
            partition by client_id order by quantity desc, revenue_excl_tax desc, product_key asc
        ) as rank_by_quantity,
        row_number() over (
            partition by client_id order by revenue_excl_tax desc, quantity desc, product_key asc
        ) as rank_by_revenue
    from per_product

)

select * from ranked
