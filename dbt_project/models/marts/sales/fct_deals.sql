-- Budget vs actual per deal (domain.md §5, seed 002 "suivi budgétaire par affaire"). The formulas are stated in
-- fct_deals.yml; in short:
--   actual costs   = actual_labour_cost + actual_purchases; budget costs = budget_labour + budget_purchases
--   progress_pct   = 100 for a done deal, else min(100, actual costs / budget costs × 100) (cost-to-cost method)
--   forecast_margin = closed deal (done, cancelled): actual_sales − actual costs;
--                     open deal: max(budget_sales, actual_sales) − max(budget costs, actual costs)
-- An empty budget counts as 0 in the formulas and is published empty.

with

deals as (

    select * from {{ ref('int_deals__deals') }}

),

documents as (

    select * from {{ ref('int_deals__documents') }}

),

actuals as (

    select
        deal_id,
        coalesce(sum(labour_hours), 0) as actual_labour_hours,
        round(coalesce(sum(labour_cost), 0), 2) as actual_labour_cost,
        coalesce(sum(purchases_excl_tax), 0) as actual_purchases,
        coalesce(sum(sales_excl_tax), 0) as actual_sales,
        count(*) filter (where document_type = 'time_entry') as time_entry_count,
        count(*) filter (where document_type = 'time_entry' and labour_cost is null) as unpriced_time_entry_count,
        coalesce(sum(labour_hours) filter (where labour_cost is null), 0) as unpriced_labour_hours,
        count(*) filter (where document_type = 'invoice') as invoice_count,
        count(*) filter (where document_type = 'credit_note') as credit_note_count,
        count(*) filter (where document_type = 'purchase') as purchase_count,
        -- a credit note follows the invoice it corrects, not the work: its date is no inconsistency
        count(*) filter (where document_type = 'invoice' and is_outside_deal_dates) as invoices_outside_dates_count,
        count(*) filter (where document_type = 'purchase' and is_outside_deal_dates) as purchases_outside_dates_count,
        count(*) filter (
            where document_type = 'time_entry' and is_outside_deal_dates
        ) as time_entries_outside_dates_count,
        min(document_date) as first_document_date,
        max(document_date) as last_document_date
    from documents
    group by deal_id

),

joined as (

    select
        deals.*,
        coalesce(actuals.actual_labour_hours, 0) as actual_labour_hours,
        coalesce(actuals.actual_labour_cost, 0) as actual_labour_cost,
        coalesce(actuals.actual_purchases, 0) as actual_purchases,
        coalesce(actuals.actual_sales, 0) as actual_sales,
        coalesce(actuals.time_entry_count, 0) as time_entry_count,
        coalesce(actuals.unpriced_time_entry_count, 0) as unpriced_time_entry_count,
        coalesce(actuals.unpriced_labour_hours, 0) as unpriced_labour_hours,
        coalesce(actuals.invoice_count, 0) as invoice_count,
        coalesce(actuals.credit_note_count, 0) as credit_note_count,
        coalesce(actuals.purchase_count, 0) as purchase_count,
        coalesce(actuals.invoices_outside_dates_count, 0) as invoices_outside_dates_count,
        coalesce(actuals.purchases_outside_dates_count, 0) as purchases_outside_dates_count,
        coalesce(actuals.time_entries_outside_dates_count, 0) as time_entries_outside_dates_count,
        actuals.first_document_date,
        actuals.last_document_date
    from deals
    left join actuals using (deal_id)

),

costs as (

    select
        *,
        coalesce(budget_labour, 0) + coalesce(budget_purchases, 0) as budget_costs,
        actual_labour_cost + actual_purchases as actual_costs,
        status in ('done', 'cancelled') as is_closed
    from joined

),

forecast as (

    select
        *,
        case
            when is_closed then actual_sales
            else greatest(coalesce(budget_sales, 0), actual_sales)
        end as forecast_sales,
        case
            when is_closed then actual_costs
            else greatest(budget_costs, actual_costs)
        end as forecast_costs,
        case
            when status = 'done' then 100
            when budget_costs > 0 then least(100, round(actual_costs * 100 / budget_costs, 2))
        end as progress_pct
    from costs

),

final as (

    select
        ---------- contract columns
        cast(deal_id as string) as deal_id,
        cast(client_id as string) as client_id,
        cast(status as string) as status,
        cast(budget_labour as decimal(18, 2)) as budget_labour,
        cast(round(actual_labour_hours, 2) as decimal(12, 2)) as actual_labour_hours,
        cast(actual_labour_cost as decimal(18, 2)) as actual_labour_cost,
        cast(budget_purchases as decimal(18, 2)) as budget_purchases,
        cast(actual_purchases as decimal(18, 2)) as actual_purchases,
        cast(budget_sales as decimal(18, 2)) as budget_sales,
        cast(actual_sales as decimal(18, 2)) as actual_sales,
        cast(progress_pct as decimal(7, 2)) as progress_pct,
        cast(forecast_sales - forecast_costs as decimal(18, 2)) as forecast_margin,
        cast(actual_purchases > coalesce(budget_purchases, 0) as boolean) as alert_purchase_budget_exceeded,
        cast(
            invoices_outside_dates_count + purchases_outside_dates_count + time_entries_outside_dates_count > 0
            as boolean
        ) as alert_date_inconsistent,

        ---------- the deal
        cast(deal_name as string) as deal_name,
        cast(mission_code as string) as mission_code,
        cast(company_id as string) as crm_company_id,
        cast(opportunity_id as string) as opportunity_id,
        cast(owner_id as string) as owner_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(is_known_status as boolean) as is_known_status,

        ---------- how the margin and progress were computed
        cast(budget_costs as decimal(18, 2)) as budget_costs,
        cast(actual_costs as decimal(18, 2)) as actual_costs,
        cast(forecast_sales as decimal(18, 2)) as forecast_sales,
        cast(forecast_costs as decimal(18, 2)) as forecast_costs,
        cast(greatest(actual_purchases - coalesce(budget_purchases, 0), 0) as decimal(18, 2))
            as purchase_budget_overrun,

        ---------- documents behind the figures
        cast(time_entry_count as bigint) as time_entry_count,
        cast(unpriced_time_entry_count as bigint) as unpriced_time_entry_count,
        cast(round(unpriced_labour_hours, 2) as decimal(12, 2)) as unpriced_labour_hours,
        cast(invoice_count as bigint) as invoice_count,
        cast(credit_note_count as bigint) as credit_note_count,
        cast(purchase_count as bigint) as purchase_count,
        cast(invoices_outside_dates_count as bigint) as invoices_outside_dates_count,
        cast(purchases_outside_dates_count as bigint) as purchases_outside_dates_count,
        cast(time_entries_outside_dates_count as bigint) as time_entries_outside_dates_count,
        cast(first_document_date as date) as first_document_date,
        cast(last_document_date as date) as last_document_date

    from forecast

)

select * from final
