-- The opportunities the rules engine keeps across runs (assets/opportunities/lifecycle.py), published with the
-- BI contract's types; the engine owns the statuses, this model only exposes them.

with

history as (

    select * from {{ source('opportunities', 'opportunity_history') }}

),

final as (

    select
        opportunity_id,
        client_id,
        rule_id,
        kind,
        mission_title,
        trigger_text,
        price_min,
        price_max,
        evidence,
        status,
        first_detected_on,
        last_detected_on,
        status_reason,
        status_changed_on,
        evaluated_month,
        mission_code,
        sheet_url,
        language
    from history

)

select * from final
