-- Published empty until the deal budget-vs-actual facts (domain.md §5) land: the typed contract columns only.

select
    cast(null as varchar) as deal_id,
    cast(null as varchar) as client_id,
    cast(null as varchar) as status,
    cast(null as decimal(18, 2)) as budget_labour,
    cast(null as decimal(12, 2)) as actual_labour_hours,
    cast(null as decimal(18, 2)) as actual_labour_cost,
    cast(null as decimal(18, 2)) as budget_purchases,
    cast(null as decimal(18, 2)) as actual_purchases,
    cast(null as decimal(18, 2)) as budget_sales,
    cast(null as decimal(18, 2)) as actual_sales,
    cast(null as decimal(7, 2)) as progress_pct,
    cast(null as decimal(18, 2)) as forecast_margin,
    cast(null as boolean) as alert_purchase_budget_exceeded,
    cast(null as boolean) as alert_date_inconsistent
where false
