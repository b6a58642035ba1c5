-- Every rule that fired at the last run, with what became of it: proposed, or not shown because the mission is
-- switched off or already sold. Lets the firm and its auditors see why a client was not offered a mission.

with

matches as (

    select * from {{ source('opportunities', 'rule_matches') }}

),

final as (

    select
        opportunity_id,
        client_id,
        rule_id,
        kind,
        evaluated_month,
        reference_date,
        outcome,
        suppressed_by,
        trigger_text,
        evidence
    from matches

)

select * from final
