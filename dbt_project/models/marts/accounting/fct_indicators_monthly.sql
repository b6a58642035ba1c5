-- Monthly accounting indicators per client (domain.md §2): each month comes from the one FEC file it is
-- attributed to (int_fec__client_months), then 12-month rolling sums and payment delays are computed across
-- the client's fiscal years.

with

client_months as (

    select * from {{ ref('int_fec__client_months') }}

),

file_indicators as (

    select * from {{ ref('int_fec__file_indicators_monthly') }}

),

files as (

    select file_sha256, source_file from {{ ref('int_fec__files') }}

),

customer_concentration as (

    select * from {{ ref('int_fec__customer_concentration') }}

),

staff_cost as (

    select valid_from, valid_to, value as average_annual_staff_cost
    from {{ ref('thresholds') }}
    where threshold_name = 'average_annual_staff_cost'

),

monthly as (

    select
        client_months.client_id,
        client_months.month,
        -- months counted from year 0: the rolling window is "the 12 calendar months ending here", gaps included
        year(client_months.month) * 12 + month(client_months.month) as month_index,
        {{ vigie.star_except(['client_id', 'month', 'file_sha256'], 'file_indicators') }},  -- noqa: RF02
        files.source_file
    from client_months
    inner join file_indicators using (file_sha256, month)
    inner join files using (file_sha256)

),

rolling as (

    select
        *,
        sum(revenue) over last_12_months as revenue_rolling_12m,
        sum(payroll) over last_12_months as payroll_rolling_12m,
        sum(net_result) over fiscal_year_to_date as net_result_fiscal_ytd,
        sum(revenue + vat_collected) over last_12_months as revenue_incl_vat_rolling_12m,
        sum(purchases_consumed + external_charges + vat_deductible) over last_12_months
            as purchases_incl_vat_rolling_12m,
        count(*) over last_12_months as rolling_window_months
    from monthly
    window
        last_12_months as (partition by client_id order by month_index range between 11 preceding and current row),
        fiscal_year_to_date as (partition by client_id, closing_date order by month_index)

),

enriched as (

    select
        rolling.*,
        customer_concentration.top_customer_share_12m,
        customer_concentration.top_customer_account,
        staff_cost.average_annual_staff_cost
    from rolling
    left join customer_concentration
        on rolling.client_id = customer_concentration.client_id and rolling.month = customer_concentration.month
    left join staff_cost
        on rolling.month between staff_cost.valid_from and coalesce(staff_cost.valid_to, rolling.month)

),

final as (

    select
        cast(client_id as string) as client_id,
        cast(month as date) as month,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(purchases_consumed as decimal(18, 2)) as purchases_consumed,
        cast(external_charges as decimal(18, 2)) as external_charges,
        cast(value_added as decimal(18, 2)) as value_added,
        cast(payroll as decimal(18, 2)) as payroll,
        cast(ebitda as decimal(18, 2)) as ebitda,
        cast(net_result as decimal(18, 2)) as net_result,
        cast(cash_net as decimal(18, 2)) as cash_net,
        cast(receivables as decimal(18, 2)) as receivables,
        cast(payables as decimal(18, 2)) as payables,
        cast(vat_collected as decimal(18, 2)) as vat_collected,
        cast(vat_deductible as decimal(18, 2)) as vat_deductible,
        -- days of sales outstanding over the months of the window that have a ledger (30 days each): with 12
        -- months this is receivables x 360 / revenue incl. VAT; with fewer, the revenue is annualised
        cast(
            case when revenue_incl_vat_rolling_12m > 0
                then receivables * 30 * rolling_window_months / revenue_incl_vat_rolling_12m
            end as decimal(10, 1)
        ) as dso_days,
        cast(
            case when purchases_incl_vat_rolling_12m > 0
                then payables * 30 * rolling_window_months / purchases_incl_vat_rolling_12m
            end as decimal(10, 1)
        ) as dpo_days,
        cast(revenue_rolling_12m as decimal(18, 2)) as revenue_rolling_12m,
        cast(line_count as bigint) as source_line_count,
        cast(gross_margin_goods as decimal(18, 2)) as gross_margin_goods,
        cast(taxes as decimal(18, 2)) as taxes,
        cast(equity as decimal(18, 2)) as equity,
        cast(share_capital as decimal(18, 2)) as share_capital,
        cast(suspense_471 as decimal(18, 2)) as suspense_471_balance,
        cast(balance_sheet_total as decimal(18, 2)) as balance_sheet_total,
        cast(rolling_window_months as integer) as rolling_window_months,
        cast(closing_date as date) as fiscal_year_closing_date,
        cast(total_charges as decimal(18, 2)) as total_charges,
        cast(payroll_rolling_12m as decimal(18, 2)) as payroll_rolling_12m,
        cast(net_result_fiscal_ytd as decimal(18, 2)) as net_result_fiscal_ytd,
        -- the statutory-auditor test counts employees; a ledger only knows payroll, so the headcount is the
        -- annualised payroll over the firm's average yearly cost of one employee (a dated threshold)
        cast(
            payroll_rolling_12m * 12 / rolling_window_months / average_annual_staff_cost
            as decimal(10, 1)
        ) as estimated_headcount,
        top_customer_share_12m,
        cast(top_customer_account as string) as top_customer_account,
        cast(source_file as string) as source_file
    from enriched

)

select * from final
