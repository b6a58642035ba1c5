-- Each account of the ledgers mapped to the indicator components it feeds (seed account_mapping): within a
-- component the longest matching prefix wins, so a sign-0 row carves an exclusion out of a shorter prefix
-- ("60 except 607"). Runs on the distinct account numbers only (thousands), not on ledger lines.

with

accounts as (

    select distinct account_number from {{ ref('int_fec__account_monthly') }}

),

account_mapping as (

    select * from {{ ref('account_mapping') }}

),

matches as (

    select
        accounts.account_number,
        account_mapping.component,
        account_mapping.measure,
        account_mapping.sign,
        account_mapping.amount_rule,
        account_mapping.account_prefix,
        row_number() over (
            partition by accounts.account_number, account_mapping.component
            order by length(account_mapping.account_prefix) desc
        ) as prefix_rank
    from accounts
    inner join account_mapping
        on {{ vigie.starts_with('accounts.account_number', 'account_mapping.account_prefix') }}

),

longest_prefix as (

    select account_number, component, measure, sign, amount_rule, account_prefix
    from matches
    where prefix_rank = 1 and sign <> 0

)

select * from longest_prefix
