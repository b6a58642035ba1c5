-- The weight of the biggest customer in each client's sales over the 12 months ending each month (domain.md §3,
-- "one customer above 30 % of revenue"), from the customer invoices of int_fec__customer_monthly (411 auxiliary
-- accounts, openings excluded) of the one file each month is attributed to (int_fec__client_months), as for
-- every other indicator. One row per client and month that has customer invoices in its window.
-- Incremental by client: a client's rows depend only on the set of its FEC file versions (files_signature), so a
-- morning recomputes the clients whose set changed, and the post-hook drops the rows of sets no longer current
-- (a client whose files all left, or whose new set has no customer invoice). The 12-month windows were 1 s of
-- work at 10 M lines, and 5 s with the other models running beside them, every morning.

{{ config(post_hook="{{ forget_stale_client_signatures() }}") }}  {# rendered when it runs, with {{ this }} #}

with

customer_monthly as (

    select * from {{ ref('int_fec__customer_monthly') }}

),

signatures as (

    {{ client_file_signatures() }}

),

changed_clients as (

    select client_id, files_signature
    from signatures
    {% if is_incremental() -%}
    where (client_id, files_signature) not in (select (client_id, files_signature) from {{ this }})
    {%- endif %}

),

client_months as (

    select client_months.client_id, client_months.month, client_months.file_sha256
    from {{ ref('int_fec__client_months') }} as client_months
    {% if is_incremental() -%}
    where client_months.client_id in (select changed_clients.client_id from changed_clients)
    {%- endif %}

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
        max_by(customer_account, invoiced_12m) as top_customer_account,
        max_by(customer_label, invoiced_12m) as top_customer_label,
        max(invoiced_12m) as top_customer_invoiced_12m
    from windowed
    group by client_id, month

),

final as (

    select
        ranked.*,
        {{ share('ranked.top_customer_invoiced_12m', 'ranked.customer_invoiced_12m') }} as top_customer_share_12m,
        changed_clients.files_signature
    from ranked
    inner join changed_clients on ranked.client_id = changed_clients.client_id

)

select * from final
