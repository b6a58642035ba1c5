-- Published empty until the opportunity rules (domain.md §3) land: the typed contract columns only.

select
    cast(null as varchar) as opportunity_id,
    cast(null as varchar) as client_id,
    cast(null as varchar) as rule_id,
    cast(null as varchar) as kind,
    cast(null as varchar) as mission_title,
    cast(null as varchar) as trigger_text,
    cast(null as decimal(18, 2)) as price_min,
    cast(null as decimal(18, 2)) as price_max,
    cast(null as json) as evidence,
    cast(null as varchar) as status,
    cast(null as date) as first_detected_on,
    cast(null as date) as last_detected_on
where false
