-- Published empty until the sales pipeline facts (domain.md §5) land: the typed contract columns only.

select
    cast(null as varchar) as owner_id,
    cast(null as date) as month,
    cast(null as bigint) as open_count,
    cast(null as decimal(18, 2)) as open_amount,
    cast(null as decimal(18, 2)) as weighted_amount,
    cast(null as bigint) as won_count,
    cast(null as bigint) as lost_count,
    cast(null as decimal(5, 4)) as win_rate
where false
