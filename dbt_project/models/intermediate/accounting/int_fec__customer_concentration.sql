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

client_month_indexes as (

    select
        client_id,
        month,
        year(month) * 12 + month(month) as month_index
    from client_months

),

windowed as (

    -- the 12 calendar months ending at each client month, gaps included, like revenue_rolling_12m
    select
        client_month_indexes.client_id,
        client_month_indexes.month,
        client_month_indexes.month_index,
        customer_sales.customer_account,
        sum(customer_sales.invoiced) as invoiced_12m
    from client_month_indexes
    inner join customer_sales
        on
            client_month_indexes.client_id = customer_sales.client_id
            and customer_sales.month_index
            between client_month_indexes.month_index - 11 and client_month_indexes.month_index
    group by
        client_month_indexes.client_id,
        client_month_indexes.month,
        client_month_indexes.month_index,
        customer_sales.customer_account

),

ranked as (

    select
        client_id,
        month,
        month_index,
        count(*) as customers_12m,
        sum(invoiced_12m) as customer_invoiced_12m,
        max(invoiced_12m) as top_customer_invoiced_12m
    from windowed
    group by client_id, month, month_index

),

top_customers as (

    -- the customer with the most sales, the smallest account of those tied: the same figures whichever run (max_by
    -- took any of them)
    select
        ranked.client_id,
        ranked.month,
        ranked.month_index,
        min(windowed.customer_account) as top_customer_account
    from ranked
    inner join windowed
        on
            ranked.client_id = windowed.client_id
            and ranked.month = windowed.month
            and ranked.top_customer_invoiced_12m = windowed.invoiced_12m
    group by ranked.client_id, ranked.month, ranked.month_index

),

top_customer_labels as (

    -- the top customer's smallest label in the window, read for that customer only: taken for every customer in
    -- `windowed`, the labels were most of the model's time at 10 M lines (a string aggregate over ten million rows)
    select
        top_customers.client_id,
        top_customers.month,
        top_customers.top_customer_account,
        min(customer_sales.customer_label) as top_customer_label
    from top_customers
    inner join customer_sales
        on
            top_customers.client_id = customer_sales.client_id
            and top_customers.top_customer_account = customer_sales.customer_account
            and customer_sales.month_index between top_customers.month_index - 11 and top_customers.month_index
    group by top_customers.client_id, top_customers.month, top_customers.top_customer_account

),

final as (

    select
        ranked.client_id,
        ranked.month,
        ranked.customers_12m,
        ranked.customer_invoiced_12m,
        top_customer_labels.top_customer_account,
        top_customer_labels.top_customer_label,
        ranked.top_customer_invoiced_12m,
        {{ share('ranked.top_customer_invoiced_12m', 'ranked.customer_invoiced_12m') }} as top_customer_share_12m,
        changed_clients.files_signature
    from ranked
    inner join top_customer_labels
        on ranked.client_id = top_customer_labels.client_id and ranked.month = top_customer_labels.month
    inner join changed_clients on ranked.client_id = changed_clients.client_id

)

select * from final
