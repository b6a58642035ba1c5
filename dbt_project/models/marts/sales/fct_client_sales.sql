-- The firm's sales to each client as of the reference date (domain.md §4, seed 001 cards 1 to 3): relationship
-- (first and last purchase, total), open documents (invoices to pay and late, pending quotes, open
-- opportunities) and sales overview (last 3 years, frequency, basket, top products, payment behaviour).
-- Every input is aggregated to one row per client before the joins. Amounts are excluding tax unless the
-- column name says incl_tax.

{#- the fields of a top-5 product, after its rank -#}
{%- set product_fields = [
    ('product_ref', 'product_ref'),
    ('product_name', 'product_name'),
    ('quantity', 'cast(quantity as decimal(18, 4))'),
    ('revenue', 'cast(revenue_excl_tax as decimal(18, 2))'),
] %}

with

reference as (

    select
        cast({{ as_of_date() }} as date) as as_of_date,
        cast(extract(year from {{ as_of_date() }}) as integer) as current_year,
        -- the trailing window of purchase_frequency: (as_of_date - 3 years, as_of_date]
        cast({{ dbt.dateadd('year', -3, as_of_date()) }} as date) as frequency_window_start

),

dim_clients as (

    select client_id, account_type from {{ ref('dim_clients') }}

),

documents as (

    select * from {{ ref('int_sales__documents') }}
    where client_id is not null

),

purchases as (

    select * from {{ ref('int_sales__purchases') }}

),

client_products as (

    select * from {{ ref('int_sales__client_products') }}

),

open_opportunities as (

    select
        *,
        row_number() over (
            partition by client_id order by amount desc nulls last, opportunity_id asc
        ) as position_in_client
    from {{ ref('int_sales__open_opportunities') }}
    where client_id is not null

),

-- every client account, with or without sales, and every other account (prospect...) with a sales document or
-- an open opportunity
sales_clients as (

    select client_id from dim_clients where account_type = 'client'
    union
    select client_id from documents
    union
    select client_id from open_opportunities

),

purchase_totals as (

    select
        purchases.client_id,
        max(purchases.purchases_basis) as purchases_basis,
        min(purchases.document_date) filter (where purchases.is_purchase_document) as first_purchase_date,
        max(purchases.document_date) filter (where purchases.is_purchase_document) as last_purchase_date,
        sum(purchases.signed_amount_excl_tax) as total_purchases,
        sum(purchases.signed_amount_incl_tax) as total_purchases_incl_tax,
        count(*) filter (where purchases.is_purchase_document) as purchase_documents_count,
        count(*) filter (
            where purchases.is_purchase_document
            and purchases.document_date > reference.frequency_window_start
        ) as purchase_documents_last_3_years,
        sum(purchases.signed_amount_excl_tax) filter (
            where extract(year from purchases.document_date) = reference.current_year - 2
        ) as purchases_year_minus_2,
        sum(purchases.signed_amount_excl_tax) filter (
            where extract(year from purchases.document_date) = reference.current_year - 1
        ) as purchases_year_minus_1,
        sum(purchases.signed_amount_excl_tax) filter (
            where extract(year from purchases.document_date) = reference.current_year
        ) as purchases_current_year
    from purchases
    cross join reference
    group by purchases.client_id

),

document_totals as (

    select
        client_id,
        count(*) filter (where payment_state = 'to_pay') as invoices_to_pay_count,
        sum(total_excl_tax) filter (where payment_state = 'to_pay') as invoices_to_pay_amount,
        sum(total_incl_tax) filter (where payment_state = 'to_pay') as invoices_to_pay_amount_incl_tax,
        count(*) filter (where payment_state = 'late') as invoices_late_count,
        sum(total_excl_tax) filter (where payment_state = 'late') as invoices_late_amount,
        sum(total_incl_tax) filter (where payment_state = 'late') as invoices_late_amount_incl_tax,
        count(*) filter (where is_pending_quote and status = 'sent') as quotes_sent_count,
        count(*) filter (where is_pending_quote and status = 'read') as quotes_read_count,
        count(payment_days) as paid_invoices_with_date_count,
        sum(payment_days) as payment_days_sum,
        count(*) filter (where is_paid_late) as late_payments_count
    from documents
    group by client_id

),

opportunity_totals as (

    select
        client_id,
        count(*) as open_opportunities_count,
        sum(amount) as open_opportunities_amount,
        {{ vigie.json_array_agg([
            ('opportunity_id', 'opportunity_id'),
            ('name', 'opportunity_name'),
            ('amount', 'cast(amount as decimal(18, 2))'),
            ('pipeline', 'pipeline'),
            ('step', 'step'),
            ('probability_pct', 'cast(probability_pct as decimal(18, 2))'),
            ('status', 'status'),
            ('due_date', 'due_date'),
        ], position='position_in_client') }} as open_opportunities
    from open_opportunities
    group by client_id

),

top_products as (

    select
        client_id,
        {{ vigie.json_array_agg([('rank', 'rank_by_quantity')] + product_fields, position='rank_by_quantity',
                                where='rank_by_quantity <= 5') }} as top_products_by_quantity,
        {{ vigie.json_array_agg([('rank', 'rank_by_revenue')] + product_fields, position='rank_by_revenue',
                                where='rank_by_revenue <= 5') }} as top_products_by_revenue
    from client_products
    where rank_by_quantity <= 5 or rank_by_revenue <= 5
    group by client_id

),

joined as (

    select
        sales_clients.client_id,
        dim_clients.account_type,
        reference.as_of_date,
        reference.current_year,
        coalesce(purchase_totals.purchases_basis, 'none') as purchases_basis,
        purchase_totals.first_purchase_date,
        purchase_totals.last_purchase_date,
        coalesce(purchase_totals.total_purchases, 0) as total_purchases,
        coalesce(purchase_totals.total_purchases_incl_tax, 0) as total_purchases_incl_tax,
        coalesce(purchase_totals.purchase_documents_count, 0) as purchase_documents_count,
        coalesce(purchase_totals.purchase_documents_last_3_years, 0) as purchase_documents_last_3_years,
        coalesce(purchase_totals.purchases_year_minus_2, 0) as purchases_year_minus_2,
        coalesce(purchase_totals.purchases_year_minus_1, 0) as purchases_year_minus_1,
        coalesce(purchase_totals.purchases_current_year, 0) as purchases_current_year,
        coalesce(document_totals.invoices_to_pay_count, 0) as invoices_to_pay_count,
        coalesce(document_totals.invoices_to_pay_amount, 0) as invoices_to_pay_amount,
        coalesce(document_totals.invoices_to_pay_amount_incl_tax, 0) as invoices_to_pay_amount_incl_tax,
        coalesce(document_totals.invoices_late_count, 0) as invoices_late_count,
        coalesce(document_totals.invoices_late_amount, 0) as invoices_late_amount,
        coalesce(document_totals.invoices_late_amount_incl_tax, 0) as invoices_late_amount_incl_tax,
        coalesce(document_totals.quotes_sent_count, 0) as quotes_sent_count,
        coalesce(document_totals.quotes_read_count, 0) as quotes_read_count,
        coalesce(document_totals.paid_invoices_with_date_count, 0) as paid_invoices_count,
        document_totals.payment_days_sum,
        coalesce(document_totals.late_payments_count, 0) as late_payments_count,
        coalesce(opportunity_totals.open_opportunities_count, 0) as open_opportunities_count,
        coalesce(opportunity_totals.open_opportunities_amount, 0) as open_opportunities_amount,
        coalesce(opportunity_totals.open_opportunities, cast('[]' as {{ vigie.type_json() }})) as open_opportunities,
        coalesce(top_products.top_products_by_quantity, cast('[]' as {{ vigie.type_json() }})) as top_products_by_quantity,
        coalesce(top_products.top_products_by_revenue, cast('[]' as {{ vigie.type_json() }})) as top_products_by_revenue
    from sales_clients
    cross join reference
    left join dim_clients using (client_id)
    left join purchase_totals using (client_id)
    left join document_totals using (client_id)
    left join opportunity_totals using (client_id)
    left join top_products using (client_id)

),

averaged as (

    select
        *,
        -- exact averages: integer division rounding half away from zero (DuckDB divides decimals as doubles,
        -- which would misround amounts such as 10.01 / 2). Cents of a DECIMAL(18, 2), doubled, fit a bigint.
        case when purchase_documents_count > 0 then
            case when total_purchases < 0 then -1 else 1 end
            * {{ vigie.integer_div('abs(cast(total_purchases * 100 as bigint)) * 2 + purchase_documents_count',
                                   '2 * purchase_documents_count') }}
        end as average_basket_cents,
        case when paid_invoices_count > 0 then
            case when payment_days_sum < 0 then -1 else 1 end
            * {{ vigie.integer_div('abs(payment_days_sum) * 10 * 2 + paid_invoices_count', '2 * paid_invoices_count') }}
        end as avg_payment_tenths_of_days
    from joined

),

final as (

    select
        cast(client_id as string) as client_id,
        cast(account_type as string) as account_type,
        cast(as_of_date as date) as as_of_date,
        cast(purchases_basis as string) as purchases_basis,
        cast(first_purchase_date as date) as first_purchase_date,
        cast(last_purchase_date as date) as last_purchase_date,
        cast(total_purchases as decimal(18, 2)) as total_purchases,
        cast(total_purchases_incl_tax as decimal(18, 2)) as total_purchases_incl_tax,
        cast(purchase_documents_count as bigint) as purchase_documents_count,
        cast(invoices_to_pay_count as bigint) as invoices_to_pay_count,
        cast(invoices_to_pay_amount as decimal(18, 2)) as invoices_to_pay_amount,
        cast(invoices_to_pay_amount_incl_tax as decimal(18, 2)) as invoices_to_pay_amount_incl_tax,
        cast(invoices_late_count as bigint) as invoices_late_count,
        cast(invoices_late_amount as decimal(18, 2)) as invoices_late_amount,
        cast(invoices_late_amount_incl_tax as decimal(18, 2)) as invoices_late_amount_incl_tax,
        cast(quotes_sent_count as bigint) as quotes_sent_count,
        cast(quotes_read_count as bigint) as quotes_read_count,
        cast(open_opportunities_count as bigint) as open_opportunities_count,
        cast(open_opportunities_amount as decimal(18, 2)) as open_opportunities_amount,
        cast(open_opportunities as {{ vigie.type_json() }}) as open_opportunities,
        cast({{ vigie.json_map_of([
            ('cast(current_year - 2 as string)', 'cast(purchases_year_minus_2 as decimal(18, 2))'),
            ('cast(current_year - 1 as string)', 'cast(purchases_year_minus_1 as decimal(18, 2))'),
            ('cast(current_year as string)', 'cast(purchases_current_year as decimal(18, 2))'),
        ]) }} as {{ vigie.type_json() }}) as purchases_by_year,
        cast(purchase_documents_last_3_years as bigint) as purchase_documents_last_3_years,
        -- n / 3 is a whole number or ends in .33.. or .66..: rounding the quotient is exact
        cast(round(purchase_documents_last_3_years / 3, 2) as decimal(10, 2)) as purchase_frequency,
        cast(cast(average_basket_cents as decimal(38, 0)) * 0.01 as decimal(18, 2)) as average_basket,
        cast(top_products_by_quantity as {{ vigie.type_json() }}) as top_products_by_quantity,
        cast(top_products_by_revenue as {{ vigie.type_json() }}) as top_products_by_revenue,
        cast(paid_invoices_count as bigint) as paid_invoices_count,
        cast(cast(avg_payment_tenths_of_days as decimal(38, 0)) * 0.1 as decimal(10, 1)) as avg_payment_days,
        cast(late_payments_count as bigint) as late_payments_count
    from averaged

)

select * from final
