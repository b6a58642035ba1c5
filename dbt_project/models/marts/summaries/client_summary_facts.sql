-- The facts behind each client's summary cards (domain.md §4, seed 001): cards 1 to 3 from fct_client_sales
-- (relationship, open documents, sales overview) and card 4, the CRM notes of the last six months. The summaries
-- asset (assets/summaries) reads this table, redacts it and has the cards written from it; nothing here is text
-- for the reader. Client accounts only: prospects and other account types get no summary.

with

reference as (

    select
        cast({{ as_of_date() }} as date) as as_of_date,
        -- the six-month window of card 4, (as_of_date - 6 months, as_of_date], by its first day
        cast({{ dbt.dateadd('day', 1, dbt.dateadd('month', -6, as_of_date())) }} as date) as interactions_from

),

clients as (

    select client_id, name as client_name
    from {{ ref('dim_clients') }}
    where account_type = 'client'

),

client_sales as (

    select * from {{ ref('fct_client_sales') }}

),

company_clients as (

    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

-- a note listed twice (two export files) keeps its first line in staging; a note without id is kept as it is
interactions as (

    select *
    from {{ ref('stg_crm__interactions') }}

),

recent_interactions as (

    select
        company_clients.client_id,
        interactions.interaction_id,
        interactions.interaction_date,
        interactions.kind,
        interactions.note_text,
        -- newest first; the id breaks ties so the list, and the facts hash, are stable
        row_number() over (
            partition by company_clients.client_id
            order by interactions.interaction_date desc, interactions.interaction_id asc nulls last,
                interactions.note_text asc
        ) as position_in_client
    from interactions
    inner join company_clients using (company_id)
    cross join reference
    where interactions.note_text is not null
        and interactions.interaction_date >= reference.interactions_from
        and interactions.interaction_date <= reference.as_of_date

),

interaction_lists as (

    select
        client_id,
        count(*) as recent_interactions_count,
        {{ vigie.json_array_agg([('date', 'interaction_date'), ('kind', 'kind'), ('text', 'note_text')],
                                position='position_in_client') }} as recent_interactions
    from recent_interactions
    group by client_id

),

joined as (

    select
        clients.client_id,
        clients.client_name,
        reference.as_of_date,
        -- card 1: relationship
        client_sales.purchases_basis,
        client_sales.first_purchase_date,
        client_sales.last_purchase_date,
        client_sales.total_purchases,
        client_sales.purchase_documents_count,
        -- card 2: open documents
        client_sales.invoices_to_pay_count,
        client_sales.invoices_to_pay_amount,
        client_sales.invoices_late_count,
        client_sales.invoices_late_amount,
        client_sales.quotes_sent_count,
        client_sales.quotes_read_count,
        client_sales.open_opportunities_count,
        client_sales.open_opportunities_amount,
        client_sales.open_opportunities,
        -- card 3: sales overview
        client_sales.purchases_by_year,
        client_sales.purchase_frequency,
        client_sales.average_basket,
        client_sales.top_products_by_quantity,
        client_sales.top_products_by_revenue,
        client_sales.paid_invoices_count,
        client_sales.avg_payment_days,
        client_sales.late_payments_count,
        -- card 4: recent interactions
        reference.interactions_from,
        coalesce(interaction_lists.recent_interactions_count, 0) as recent_interactions_count,
        coalesce(interaction_lists.recent_interactions, cast('[]' as {{ vigie.type_json() }})) as recent_interactions
    from clients
    cross join reference
    left join client_sales using (client_id)
    left join interaction_lists using (client_id)

),

final as (

    select
        cast(client_id as string) as client_id,
        cast(client_name as string) as client_name,
        cast(as_of_date as date) as as_of_date,
        cast(purchases_basis as string) as purchases_basis,
        cast(first_purchase_date as date) as first_purchase_date,
        cast(last_purchase_date as date) as last_purchase_date,
        cast(total_purchases as decimal(18, 2)) as total_purchases,
        cast(purchase_documents_count as bigint) as purchase_documents_count,
        cast(invoices_to_pay_count as bigint) as invoices_to_pay_count,
        cast(invoices_to_pay_amount as decimal(18, 2)) as invoices_to_pay_amount,
        cast(invoices_late_count as bigint) as invoices_late_count,
        cast(invoices_late_amount as decimal(18, 2)) as invoices_late_amount,
        cast(quotes_sent_count as bigint) as quotes_sent_count,
        cast(quotes_read_count as bigint) as quotes_read_count,
        cast(open_opportunities_count as bigint) as open_opportunities_count,
        cast(open_opportunities_amount as decimal(18, 2)) as open_opportunities_amount,
        cast(open_opportunities as {{ vigie.type_json() }}) as open_opportunities,
        cast(purchases_by_year as {{ vigie.type_json() }}) as purchases_by_year,
        cast(purchase_frequency as decimal(10, 2)) as purchase_frequency,
        cast(average_basket as decimal(18, 2)) as average_basket,
        cast(top_products_by_quantity as {{ vigie.type_json() }}) as top_products_by_quantity,
        cast(top_products_by_revenue as {{ vigie.type_json() }}) as top_products_by_revenue,
        cast(paid_invoices_count as bigint) as paid_invoices_count,
        cast(avg_payment_days as decimal(10, 1)) as avg_payment_days,
        cast(late_payments_count as bigint) as late_payments_count,
        cast(interactions_from as date) as interactions_from,
        cast(recent_interactions_count as bigint) as recent_interactions_count,
        cast(recent_interactions as {{ vigie.type_json() }}) as recent_interactions
    from joined

)

select * from final
