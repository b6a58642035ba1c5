-- Level 1 of the practice dashboard (domain.md §6): the firm's KPIs per day over the days of fct_practice_daily,
-- broken down by the dashboard's filters (collaborator, office, bookkeeping by and frequency, deactivated) so a
-- BI tool filters and sums. Counts add up across rows; a share must be recomputed from its two sums.

with

client_days as (

    select * from {{ ref('fct_practice_daily') }}

),

grouped as (

    select
        day,
        collaborator_id,
        office_id,
        bookkeeping_by,
        bookkeeping_frequency,
        is_deactivated,
        count(*) as clients_count,
        sum(case when is_inactive then 1 else 0 end) as inactive_clients_count,
        sum(documents_received) as documents_received,
        sum(documents_last_30d) as documents_last_30d,
        sum(documents_previous_30d) as documents_previous_30d,
        sum(documents_to_review) as documents_to_review,
        sum(documents_ready) as documents_ready,
        sum(documents_pending) as documents_pending,
        sum(documents_processed) as documents_processed,
        sum(documents_auto_processed) as documents_auto_processed,
        sum(documents_processed_last_30d) as documents_processed_last_30d,
        sum(documents_auto_processed_last_30d) as documents_auto_processed_last_30d
    from client_days
    group by day, collaborator_id, office_id, bookkeeping_by, bookkeeping_frequency, is_deactivated

),

final as (

    select
        cast(day as date) as day,
        cast(collaborator_id as string) as collaborator_id,
        cast(office_id as string) as office_id,
        cast(bookkeeping_by as string) as bookkeeping_by,
        cast(bookkeeping_frequency as string) as bookkeeping_frequency,
        cast(is_deactivated as boolean) as is_deactivated,
        cast(clients_count as bigint) as clients_count,
        cast(inactive_clients_count as bigint) as inactive_clients_count,
        cast(documents_received as bigint) as documents_received,
        cast(documents_last_30d as bigint) as documents_last_30d,
        cast(documents_previous_30d as bigint) as documents_previous_30d,
        cast(documents_to_review as bigint) as documents_to_review,
        cast(documents_ready as bigint) as documents_ready,
        cast(documents_pending as bigint) as documents_pending,
        cast(documents_processed as bigint) as documents_processed,
        cast(documents_auto_processed as bigint) as documents_auto_processed,
        cast(documents_processed_last_30d as bigint) as documents_processed_last_30d,
        cast(documents_auto_processed_last_30d as bigint) as documents_auto_processed_last_30d,
        {{ share('documents_auto_processed_last_30d', 'documents_processed_last_30d') }} as auto_processed_share_last_30d
    from grouped

)

select * from final
