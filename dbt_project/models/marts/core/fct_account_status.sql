-- Published empty until the account-status logic (domain.md §7) lands: the typed contract columns only.

select
    cast(null as varchar) as client_id,
    cast({{ as_of_date() }} as date) as as_of_date,
    cast(null as varchar) as status,
    cast(null as varchar) as status_reason,
    cast(null as date) as last_deal_activity_date,
    cast(null as date) as last_opportunity_activity_date
where false
