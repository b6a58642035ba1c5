-- Published empty until the practice dashboard facts (domain.md §6) land: the typed contract columns only.

select
    cast(null as date) as day,
    cast(null as varchar) as client_id,
    cast(null as varchar) as collaborator_id,
    cast(null as varchar) as office_id,
    cast(null as varchar) as bookkeeping_by,
    cast(null as bigint) as documents_received,
    cast(null as bigint) as documents_to_review,
    cast(null as bigint) as documents_ready,
    cast(null as bigint) as documents_processed,
    cast(null as bigint) as documents_auto_processed,
    cast(null as json) as received_by_method
where false
