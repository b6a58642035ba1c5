-- The weight of the biggest customer in each client's sales over the 12 months ending each month (domain.md §3,
-- "one customer above 30 % of revenue"), from the customer invoices of int_fec__customer_monthly (411 auxiliary
-- accounts, openings excluded) of the one file each month is attributed to (int_fec__client_months), as for
-- every other indicator. One row per client and month that has customer invoices in its window.

with

customer_monthly as (

    select * from {{ ref('int_fec__customer_monthly') }}

),

client_months as (

    select client_id, month, file_sha256 from {{ ref('int_fec__client_months') }}

),

customer_sales as (

    select
        client_months.client_id,
        customer_monthly.customer_account,
        min(customer_monthly.customer_label) as customer_label,
        year(customer_monthly.month) * 12 + month(customer_monthly.month) as month_index,
        sum(customer_monthly.invoiced) as invoiced
    from customer_monthly
    inner join client_months using (file_sha256, month)
    group by client_months.client_id, customer_monthly.customer_account, month_index

),

windowed as (

    -- the 12 calendar months ending at each client month, gaps included, like revenue_rolling_12m
    select
        client_months.client_id,
        client_months.month,
        customer_sales.customer_account,
        min(customer_sales.customer_label) as customer_label,
        sum(customer_sales.invoiced) as invoiced_12m
    from client_months
    inner join customer_sales
        on
            client_months.client_id = customer_sales.client_id
            and customer_sales.month_index
            between year(client_months.month) * 12 + month(client_months.month) - 11
            and year(client_months.month) * 12 + month(client_months.month)
    group by client_months.client_id, client_months.month, customer_sales.customer_account

),

ranked as (

    select
        client_id,
        month,
        count(*) as customers_12m,
        sum(invoiced_12m) as customer_invoiced_12m,
        arg_max(customer_account, invoiced_12m) as top_customer_account,
        arg_max(customer_label, invoiced_12m) as top_customer_label,
        max(invoiced_12m) as top_customer_invoiced_12m
    from windowed
    group by client_id, month

),

final as (

    select
        *,
        {{ share('top_customer_invoiced_12m', 'customer_invoiced_12m') }} as top_customer_share_12m
    from ranked

)

select * from final
