-- Every practice client on every day of the history window: the day's flows, the stocks at the end of the day
-- and the 30-day windows ending that day, with the inactivity rule of domain.md §6 applied on each day.
--
-- History window: from the first document received, but at most var('practice_history_days') days back, up to
-- the reference date. The days are computed from 59 days before the window, so that the 30-day windows of its
-- first days are complete, and the stocks start from what happened before (opening stocks).
-- Stocks: documents_pending is exact history (received by the end of the day, not processed by then);
-- documents_to_review / documents_ready count the documents received by then that are in that status now,
-- because the export gives only each document's current status.

{%- set as_of = as_of_date() %}
{%- set history_days = var('practice_history_days', 730) %}
{%- set drop_pct = var('practice_inactive_drop_pct') %}
{%- if not modules.re.match('^[0-9]+$', history_days | string) or history_days | int < 1 %}
    {{ exceptions.raise_compiler_error("var practice_history_days must be a whole number of days >= 1, got '" ~ history_days ~ "'") }}
{%- endif %}
{%- if not modules.re.match('^[0-9]+([.][0-9]+)?$', drop_pct | string) or drop_pct | float > 100 %}
    {{ exceptions.raise_compiler_error("var practice_inactive_drop_pct must be a percentage between 0 and 100, got '" ~ drop_pct ~ "'") }}
{%- endif %}

with

flows as (

    select * from {{ ref('int_practice__client_day_flows') }}

),

practice_clients as (

    -- every client with a practice file, sending or not, and every client that sent a document
    select client_id from {{ ref('int_clients__keys') }} where is_in_practice
    union
    select client_id from flows

),

history_window as (

    select
        least(
            {{ as_of }},
            greatest(coalesce(min(day), {{ as_of }}), {{ as_of }} - {{ history_days | int - 1 }})
        ) as first_day
    from flows

),

computed_days as (

    -- dense: the window functions below count rows as days
    select {{ vigie.date_series_rows(dbt.dateadd('day', -59, 'first_day'), as_of, 'day') }} as day
    from history_window

),

opening_stocks as (

    -- what arrived or was processed before the computed days still weighs on the stocks
    select
        flows.client_id,
        sum(flows.received_to_review) as to_review,
        sum(flows.received_ready) as ready,
        sum(flows.received_to_review + flows.received_ready + flows.received_processed - flows.documents_processed)
            as pending
    from flows
    cross join history_window
    where flows.day < history_window.first_day - 59
    group by flows.client_id

),

grid_flows as (

    select
        practice_clients.client_id,
        computed_days.day,
        coalesce(flows.documents_received, 0) as documents_received,
        coalesce(flows.received_to_review, 0) as received_to_review,
        coalesce(flows.received_ready, 0) as received_ready,
        coalesce(flows.received_processed, 0) as received_processed,
        coalesce(flows.documents_processed, 0) as documents_processed,
        coalesce(flows.documents_auto_processed, 0) as documents_auto_processed,
        coalesce(opening_stocks.to_review, 0) as opening_to_review,
        coalesce(opening_stocks.ready, 0) as opening_ready,
        coalesce(opening_stocks.pending, 0) as opening_pending
    from practice_clients
    cross join computed_days
    left join flows
        on practice_clients.client_id = flows.client_id and computed_days.day = flows.day
    left join opening_stocks
        on practice_clients.client_id = opening_stocks.client_id

),

rolled as (

    select
        client_id,
        day,
        documents_received,
        documents_processed,
        documents_auto_processed,
        opening_to_review + sum(received_to_review) over to_date as documents_to_review,
        opening_ready + sum(received_ready) over to_date as documents_ready,
        -- documents of a known status received so far, less those processed so far
        opening_pending
        + sum(received_to_review + received_ready + received_processed - documents_processed) over to_date
            as documents_pending,
        sum(documents_received) over last_30_days as documents_last_30d,
        coalesce(sum(documents_received) over previous_30_days, 0) as documents_previous_30d,
        sum(documents_processed) over last_30_days as documents_processed_last_30d,
        sum(documents_auto_processed) over last_30_days as documents_auto_processed_last_30d
    from grid_flows
    window
        to_date as (partition by client_id order by day rows between unbounded preceding and current row),
        -- (day - 30 days, day] and (day - 60 days, day - 30 days]
        last_30_days as (partition by client_id order by day rows between 29 preceding and current row),
        previous_30_days as (partition by client_id order by day rows between 59 preceding and 30 preceding)

),

in_window as (

    select rolled.*
    from rolled
    cross join history_window
    where rolled.day >= history_window.first_day

),

flagged as (

    select
        *,
        -- inactive: nothing in the last 30 days (a client silent in both windows included), or a drop of at
        -- least the configured percentage against the previous 30 days; integer arithmetic, so exactly 50 % is
        -- a drop of 50 %
        case
            when documents_last_30d = 0 then 'no_documents'
            when documents_previous_30d > 0
                and (documents_previous_30d - documents_last_30d) * 100 >= {{ drop_pct }} * documents_previous_30d
                then 'sending_drop'
        end as inactivity_reason
    from in_window

),

final as (

    select
        cast(client_id as string) as client_id,
        cast(day as date) as day,
        cast(documents_received as bigint) as documents_received,
        cast(documents_processed as bigint) as documents_processed,
        cast(documents_auto_processed as bigint) as documents_auto_processed,
        cast(documents_to_review as bigint) as documents_to_review,
        cast(documents_ready as bigint) as documents_ready,
        cast(documents_pending as bigint) as documents_pending,
        cast(documents_last_30d as bigint) as documents_last_30d,
        cast(documents_previous_30d as bigint) as documents_previous_30d,
        cast(documents_processed_last_30d as bigint) as documents_processed_last_30d,
        cast(documents_auto_processed_last_30d as bigint) as documents_auto_processed_last_30d,
        cast(inactivity_reason is not null as boolean) as is_inactive,
        cast(inactivity_reason as string) as inactivity_reason
    from flagged

)

select * from final
