-- Published empty until the client summaries (domain.md §4) land: the typed contract columns only.

select
    cast(null as varchar) as client_id,
    cast(null as varchar) as language,
    cast(null as varchar) as relationship,
    cast(null as varchar) as open_documents,
    cast(null as varchar) as sales_overview,
    cast(null as varchar) as recent_interactions,
    cast(null as varchar) as recommendations,
    cast(null as varchar) as generator,
    cast(null as varchar) as model,
    cast(null as varchar) as facts_hash,
    cast(null as timestamp) as generated_at
where false
