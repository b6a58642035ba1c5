-- Published empty until the client sales facts (domain.md §4) land: the typed contract columns only.

select
    cast(null as varchar) as client_id,
    cast(null as date) as first_purchase_date,
    cast(null as date) as last_purchase_date,
    cast(null as decimal(18, 2)) as total_purchases,
    cast(null as bigint) as invoices_to_pay_count,
    cast(null as decimal(18, 2)) as invoices_to_pay_amount,
    cast(null as bigint) as invoices_late_count,
    cast(null as decimal(18, 2)) as invoices_late_amount,
    cast(null as bigint) as quotes_sent_count,
    cast(null as bigint) as quotes_read_count,
    cast(null as bigint) as open_opportunities_count,
    cast(null as decimal(18, 2)) as open_opportunities_amount,
    cast(null as json) as purchases_by_year,
    cast(null as decimal(10, 2)) as purchase_frequency,
    cast(null as decimal(18, 2)) as average_basket,
    cast(null as json) as top_products_by_quantity,
    cast(null as json) as top_products_by_revenue,
    cast(null as decimal(10, 1)) as avg_payment_days,
    cast(null as bigint) as late_payments_count
where false
