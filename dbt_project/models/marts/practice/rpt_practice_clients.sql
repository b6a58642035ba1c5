-- Published empty until the practice client report (domain.md §6) lands: the typed contract columns only.

select
    cast(null as varchar) as client_id,
    cast(null as varchar) as collaborator_id,
    cast(null as varchar) as office_id,
    cast(null as varchar) as bookkeeping_by,
    cast(null as boolean) as is_deactivated,
    cast(null as bigint) as documents_last_30d,
    cast(null as bigint) as documents_previous_30d,
    cast(null as boolean) as is_inactive,
    cast(null as bigint) as supplier_rules_count,
    cast(null as decimal(5, 4)) as auto_processed_share
where false
