-- The five-card client summaries written by the summaries asset (assets/summaries), published with the BI
-- contract's types. Which writer wrote each row (llm or template) and whether its figures were grounded in the
-- facts ride along, so a reader knows what they are looking at.

with

summaries as (

    select * from {{ source('summaries', 'client_summaries') }}

),

final as (

    select
        client_id,
        language,
        relationship,
        open_documents,
        sales_overview,
        recent_interactions,
        recommendations,
        generator,
        model,
        facts_hash,
        generated_at,
        prompt_version,
        grounding_status,
        grounding_issues,
        llm_error,
        from_cache
    from summaries

)

select * from final
