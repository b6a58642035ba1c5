-- The weight of the biggest customer in each client's sales over the 12 months ending each month (domain.md §3,
-- "one customer above 30 % of revenue"). A customer is a 411 auxiliary account (CompAuxNum), or a 411 sub-account
-- when the ledger has no auxiliary accounts; the bare collective account (411, 4110000...) names no customer, so
-- it never counts as one. Sales are the debits to the customer's account (invoices incl. VAT), openings excluded,
-- from the one file each month is attributed to (int_fec__client_months), as for every other indicator.
-- One row per client and month that has customer invoices in its window.

with

fec_lines as (

    select * from {{ ref('stg_accounting__fec_lines') }}

),

client_months as (

    select client_id, month, file_sha256 from {{ ref('int_fec__client_months') }}

),

customer_lines as (

    select
        _file_sha256 as file_sha256,
        cast(date_trunc('month', entry_date) as date) as month,
        coalesce(auxiliary_account_number, account_number) as customer_account,
        coalesce(auxiliary_account_label, account_label) as customer_label,
        debit
    from fec_lines
    where
        account_number like '411%'
        and not is_opening
        and debit > 0
        and (auxiliary_account_number is not null or not regexp_full_match(account_number, '4110*'))

),

customer_sales as (

    select
        client_months.client_id,
        customer_lines.customer_account,
        any_value(customer_lines.customer_label) as customer_label,
        year(customer_lines.month) * 12 + month(customer_lines.month) as month_index,
        sum(customer_lines.debit) as invoiced
    from customer_lines
    inner join client_months using (file_sha256, month)
    group by client_months.client_id, customer_lines.customer_account, month_index

),

windowed as (

    -- the 12 calendar months ending at each client month, gaps included, like revenue_rolling_12m
    select
        client_months.client_id,
        client_months.month,
        customer_sales.customer_account,
        any_value(customer_sales.customer_label) as customer_label,
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
