-- Customer invoices summed per file version, month and customer account: the ledger's 411 lines read once, in the
-- same incremental way as int_fec__account_monthly (by file version; superseded versions leave the table).
-- A customer is a 411 auxiliary account (CompAuxNum), or a 411 sub-account when the ledger has no auxiliary
-- accounts; the bare collective account (411, 4110000...) names no customer. Sales are the debits to the
-- customer's account (invoices incl. VAT), openings excluded.

{{ config(post_hook="{{ forget_retired_file_versions() }}") }}  {# rendered when it runs, with {{ this }} #}

with

fec_lines as (

    {{ ledger_lines_to_sum() }}

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
        and (auxiliary_account_number is not null or not {{ matches_fully('account_number', '4110*') }})

),

summed as (

    select
        file_sha256,
        month,
        customer_account,
        -- the smallest label, not any one: the same figures whichever run read the file
        min(customer_label) as customer_label,
        sum(debit) as invoiced
    from customer_lines
    group by file_sha256, month, customer_account

)

select * from summed
