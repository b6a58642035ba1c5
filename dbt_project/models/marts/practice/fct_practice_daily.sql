-- Practice activity per client and day (domain.md §6, contract §4) over the last var('practice_daily_days') days
-- (120 by default, from the first document when it is more recent): a dense grid, one row per practice client
-- and day, zeros included, so that stocks can be summed on any day. The filter columns are the client's current
-- ones (the export keeps no history of assignments).

{%- set as_of = as_of_date() %}
{%- set daily_days = var('practice_daily_days', 120) %}
{%- if not modules.re.match('^[0-9]+$', daily_days | string) or daily_days | int < 1 %}
    {{ exceptions.raise_compiler_error("var practice_daily_days must be a whole number of days >= 1, got '" ~ daily_days ~ "'") }}
{%- endif %}

with

client_days as (

    select *
    from {{ ref('int_practice__client_days') }}
    where day > {{ as_of }} - {{ daily_days | int }}

),

methods as (

    select *
    from {{ ref('int_practice__client_day_methods') }}
    where day > {{ as_of }} - {{ daily_days | int }}

),

clients as (

    select * from {{ ref('dim_clients') }}

),

received_by_method as (

    select
        client_id,
        day,
        -- {"app": 2, "email": 1}: keys in alphabetical order, so equal days give equal texts
        {{ vigie.json_map_agg('sending_method', 'documents_received') }}
            as received_by_method
    from methods
    group by client_id, day

),

joined as (

    select
        client_days.*,
        coalesce(received_by_method.received_by_method, cast('{}' as {{ vigie.type_json() }})) as received_by_method,
        clients.collaborator_id,
        clients.office_id,
        clients.bookkeeping_by,
        clients.bookkeeping_frequency,
        coalesce(clients.is_deactivated, false) as is_deactivated
    from client_days
    left join received_by_method using (client_id, day)
    left join clients using (client_id)

),

final as (

    select
        cast(day as date) as day,
        cast(client_id as string) as client_id,
        cast(collaborator_id as string) as collaborator_id,
        cast(office_id as string) as office_id,
        cast(bookkeeping_by as string) as bookkeeping_by,
        cast(bookkeeping_frequency as string) as bookkeeping_frequency,
        cast(is_deactivated as boolean) as is_deactivated,
        cast(documents_received as bigint) as documents_received,
        cast(documents_to_review as bigint) as documents_to_review,
        cast(documents_ready as bigint) as documents_ready,
        cast(documents_pending as bigint) as documents_pending,
        cast(documents_processed as bigint) as documents_processed,
        cast(documents_auto_processed as bigint) as documents_auto_processed,
        cast(received_by_method as {{ vigie.type_json() }}) as received_by_method,
        cast(documents_last_30d as bigint) as documents_last_30d,
        cast(documents_previous_30d as bigint) as documents_previous_30d,
        cast(documents_processed_last_30d as bigint) as documents_processed_last_30d,
        cast(documents_auto_processed_last_30d as bigint) as documents_auto_processed_last_30d,
        cast(is_inactive as boolean) as is_inactive,
        cast(inactivity_reason as string) as inactivity_reason
    from joined

)

select * from final
