-- Indicator components of each FEC file for each month it covers (domain.md §2).
-- Flows: the month's movements of the accounts feeding the component, opening entries excluded.
-- Balances: at month end, accumulated from the file's first line, its opening entries included (they count from
-- the file's first month whatever their date), and nothing from any other file: a fiscal year never inherits
-- another year's openings. Debit-only / credit-only rules apply account by account, so each account's
-- contribution is tracked as changes at the months its balance moves, then summed up to each month end: no row
-- per account and month is ever needed.
-- Everything here is per file version, so the model is incremental by version like int_fec__account_monthly: a run
-- works out the components of the versions loaded since the last build only (macros/current_file_versions.sql).

{{ config(post_hook="{{ forget_retired_file_versions() }}") }}  {# rendered when it runs, with {{ this }} #}

with

account_monthly as (

    select * from {{ ref('int_fec__account_monthly') }}
    {% if is_incremental() -%}
    where file_sha256 in ({{ new_file_versions() }})
    {%- endif %}

),

account_components as (

    select * from {{ ref('int_fec__account_components') }}

),

files as (

    select * from {{ ref('int_fec__files') }}

),

file_months as (

    select * from {{ ref('int_fec__file_months') }}

),

flows as (

    select
        account_monthly.file_sha256,
        account_monthly.month,
        account_components.component,
        sum(
            account_components.sign * case account_components.amount_rule
                when 'net' then account_monthly.debit - account_monthly.credit
                when 'debit_only' then account_monthly.debit
                when 'credit_only' then - account_monthly.credit
            end
        ) as amount
    from account_monthly
    inner join account_components
        on account_monthly.account_number = account_components.account_number
        and account_components.measure = 'flow'
    where not account_monthly.is_opening
    group by 1, 2, 3

),

account_movements as (

    -- opening entries are moved to the file's first month so every month-end balance includes them
    select
        account_monthly.file_sha256,
        account_monthly.account_number,
        case when account_monthly.is_opening then files.first_line_month else account_monthly.month end as month,
        sum(account_monthly.debit - account_monthly.credit) as net_movement
    from account_monthly
    inner join files
        on account_monthly.file_sha256 = files.file_sha256
    where account_monthly.account_number in (
        select account_components.account_number from account_components
        where account_components.measure = 'balance'
    )
    group by 1, 2, 3

),

account_balances as (

    select
        file_sha256,
        account_number,
        month,
        sum(net_movement) over (
            partition by file_sha256, account_number order by month rows unbounded preceding
        ) as balance
    from account_movements

),

account_contributions as (

    select
        account_balances.file_sha256,
        account_balances.account_number,
        account_balances.month,
        account_components.component,
        account_components.sign * case account_components.amount_rule
            when 'net' then account_balances.balance
            when 'debit_only' then greatest(account_balances.balance, 0)
            when 'credit_only' then least(account_balances.balance, 0)
        end as contribution
    from account_balances
    inner join account_components
        on account_balances.account_number = account_components.account_number
        and account_components.measure = 'balance'

),

contribution_changes as (

    select
        file_sha256,
        month,
        component,
        contribution - coalesce(
            lag(contribution) over (partition by file_sha256, account_number, component order by month), 0
        ) as balance_change
    from account_contributions

),

balance_grid as (

    -- every covered month of a file, for each balance component the file has accounts for
    select file_months.file_sha256, file_months.month, file_components.component
    from file_months
    inner join (select distinct file_sha256, component from contribution_changes) as file_components  -- noqa: ST05
        on file_months.file_sha256 = file_components.file_sha256

),

changes_and_grid as (

    -- months before the first covered one (openings dated earlier) still count in the running sum
    select file_sha256, month, component, balance_change, false as is_covered
    from contribution_changes
    union all
    select file_sha256, month, component, 0 as balance_change, true as is_covered
    from balance_grid

),

monthly_changes as (

    select file_sha256, month, component, sum(balance_change) as balance_change, bool_or(is_covered) as is_covered
    from changes_and_grid
    group by 1, 2, 3

),

accumulated as (

    select
        file_sha256,
        month,
        component,
        is_covered,
        sum(balance_change) over (
            partition by file_sha256, component order by month rows unbounded preceding
        ) as balance
    from monthly_changes

),

balances as (

    select file_sha256, month, component, balance
    from accumulated
    where is_covered

),

unioned as (

    select file_sha256, month, component, 'flow' as measure, amount from flows
    union all
    select file_sha256, month, component, 'balance' as measure, balance as amount from balances

),

final as (

    select
        file_sha256,
        month,
        component,
        measure,
        cast(amount as decimal(18, 2)) as amount
    from unioned

)

select * from final
