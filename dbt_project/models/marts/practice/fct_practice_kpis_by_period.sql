-- Level 2 of the practice dashboard (domain.md §6): the same KPIs per week (ISO, from Monday) and per calendar
-- month over the history window of int_practice__client_days (var('practice_history_days'), 730 days by
-- default, from the first document), broken down by the dashboard's filters. Flows are summed over the period;
-- stocks and inactive clients are read on the period's last day in the window (the reference date for the
-- current period). The first and current periods can be partial: see days_in_period and is_complete_period.

{%- set as_of = as_of_date() %}

with

client_days as (

    select * from {{ ref('int_practice__client_days') }}

),

clients as (

    select
        client_id,
        collaborator_id,
        office_id,
        bookkeeping_by,
        bookkeeping_frequency,
        is_deactivated
    from {{ ref('dim_clients') }}

),

period_days as (

    select
        'week' as granularity,
        cast(date_trunc('week', day) as date) as period_start,
        cast(date_trunc('week', day) as date) + 6 as natural_end,
        *
    from client_days
    union all
    select
        'month' as granularity,
        cast(date_trunc('month', day) as date) as period_start,
        last_day(day) as natural_end,
        *
    from client_days

),

client_periods as (

    select
        granularity,
        period_start,
        client_id,
        max(natural_end) as natural_end,
        max(day) as period_end,
        count(*) as days_in_period,
        sum(documents_received) as documents_received,
        sum(documents_processed) as documents_processed,
        sum(documents_auto_processed) as documents_auto_processed,
        -- the window is dense, so every client's period ends on the same day: the period's last day or the
        -- reference date
        sum(case when day = least(natural_end, {{ as_of }}) then documents_to_review end) as documents_to_review,
        sum(case when day = least(natural_end, {{ as_of }}) then documents_ready end) as documents_ready,
        sum(case when day = least(natural_end, {{ as_of }}) then documents_pending end) as documents_pending,
        bool_or(day = least(natural_end, {{ as_of }}) and is_inactive) as is_inactive_at_end
    from period_days
    group by granularity, period_start, client_id

),

history_methods as (

    -- the documents received on the days of the window, per sending method
    select methods.*
    from {{ ref('int_practice__client_day_methods') }} as methods
    where methods.day >= (select min(client_days.day) from client_days)

),

period_methods as (

    select 'week' as granularity, cast(date_trunc('week', day) as date) as period_start, *
    from history_methods
    union all
    select 'month' as granularity, cast(date_trunc('month', day) as date) as period_start, *
    from history_methods

),

group_methods as (

    select
        period_methods.granularity,
        period_methods.period_start,
        clients.collaborator_id,
        clients.office_id,
        clients.bookkeeping_by,
        clients.bookkeeping_frequency,
        coalesce(clients.is_deactivated, false) as is_deactivated,
        period_methods.sending_method,
        sum(period_methods.documents_received) as documents
    from period_methods
    left join clients using (client_id)
    group by
        period_methods.granularity,
        period_methods.period_start,
        clients.collaborator_id,
        clients.office_id,
        clients.bookkeeping_by,
        clients.bookkeeping_frequency,
        coalesce(clients.is_deactivated, false),
        period_methods.sending_method

),

group_methods_json as (

    select
        granularity,
        period_start,
        collaborator_id,
        office_id,
        bookkeeping_by,
        bookkeeping_frequency,
        is_deactivated,
        -- {"app": 2, "email": 1}: keys in alphabetical order
        {{ vigie.json_map_agg('sending_method', 'documents') }}
            as received_by_method
    from group_methods
    group by
        granularity,
        period_start,
        collaborator_id,
        office_id,
        bookkeeping_by,
        bookkeeping_frequency,
        is_deactivated

),

grouped as (

    select
        client_periods.granularity,
        client_periods.period_start,
        clients.collaborator_id,
        clients.office_id,
        clients.bookkeeping_by,
        clients.bookkeeping_frequency,
        coalesce(clients.is_deactivated, false) as is_deactivated,
        max(client_periods.natural_end) as natural_end,
        max(client_periods.period_end) as period_end,
        max(client_periods.days_in_period) as days_in_period,
        count(*) as clients_count,
        sum(case when client_periods.documents_received > 0 then 1 else 0 end) as clients_with_documents,
        sum(case when client_periods.is_inactive_at_end then 1 else 0 end) as inactive_clients_count,
        sum(client_periods.documents_received) as documents_received,
        sum(client_periods.documents_processed) as documents_processed,
        sum(client_periods.documents_auto_processed) as documents_auto_processed,
        sum(client_periods.documents_to_review) as documents_to_review,
        sum(client_periods.documents_ready) as documents_ready,
        sum(client_periods.documents_pending) as documents_pending
    from client_periods
    left join clients using (client_id)
    group by
        client_periods.granularity,
        client_periods.period_start,
        clients.collaborator_id,
        clients.office_id,
        clients.bookkeeping_by,
        clients.bookkeeping_frequency,
        coalesce(clients.is_deactivated, false)

),

joined as (

    select
        grouped.*,
        coalesce(group_methods_json.received_by_method, cast('{}' as {{ vigie.type_json() }})) as received_by_method
    from grouped
    left join group_methods_json
        on grouped.granularity = group_methods_json.granularity
        and grouped.period_start = group_methods_json.period_start
        and grouped.collaborator_id is not distinct from group_methods_json.collaborator_id
        and grouped.office_id is not distinct from group_methods_json.office_id
        and grouped.bookkeeping_by is not distinct from group_methods_json.bookkeeping_by
        and grouped.bookkeeping_frequency is not distinct from group_methods_json.bookkeeping_frequency
        and grouped.is_deactivated = group_methods_json.is_deactivated

),

final as (

    select
        cast(granularity as string) as granularity,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(days_in_period as bigint) as days_in_period,
        cast(days_in_period = {{ dbt.datediff('period_start', 'natural_end', 'day') }} + 1 as boolean) as is_complete_period,
        cast(collaborator_id as string) as collaborator_id,
        cast(office_id as string) as office_id,
        cast(bookkeeping_by as string) as bookkeeping_by,
        cast(bookkeeping_frequency as string) as bookkeeping_frequency,
        cast(is_deactivated as boolean) as is_deactivated,
        cast(clients_count as bigint) as clients_count,
        cast(clients_with_documents as bigint) as clients_with_documents,
        cast(inactive_clients_count as bigint) as inactive_clients_count,
        cast(documents_received as bigint) as documents_received,
        cast(received_by_method as {{ vigie.type_json() }}) as received_by_method,
        cast(documents_processed as bigint) as documents_processed,
        cast(documents_auto_processed as bigint) as documents_auto_processed,
        {{ share('documents_auto_processed', 'documents_processed') }} as auto_processed_share,
        cast(documents_to_review as bigint) as documents_to_review,
        cast(documents_ready as bigint) as documents_ready,
        cast(documents_pending as bigint) as documents_pending
    from joined

)

select * from final
