-- What happened per client and day up to the reference date: documents received (by current status) and
-- documents processed. Sparse: only the days on which something happened.

{%- set as_of = as_of_date() %}

with

documents as (

    -- a document with no client or no readable receipt day cannot be placed (int_practice__documents' tests warn)
    select *
    from {{ ref('int_practice__documents') }}
    where client_id is not null and received_date <= {{ as_of }}

),

received as (

    select
        client_id,
        received_date as day,
        count(*) as documents_received,
        -- current status of the documents received that day: the stock deltas of int_practice__client_days
        sum(case when status = 'to_review' then 1 else 0 end) as received_to_review,
        sum(case when status = 'ready' then 1 else 0 end) as received_ready,
        sum(case when status = 'processed' then 1 else 0 end) as received_processed
    from documents
    group by client_id, received_date

),

processed as (

    -- processed after the reference date: still waiting on that date
    select
        client_id,
        processed_day as day,
        count(*) as documents_processed,
        sum(case when is_auto_processed then 1 else 0 end) as documents_auto_processed
    from documents
    where processed_day <= {{ as_of }}
    group by client_id, processed_day

),

client_days as (

    select client_id, day from received
    union
    select client_id, day from processed

),

joined as (

    select
        client_days.client_id,
        client_days.day,
        coalesce(received.documents_received, 0) as documents_received,
        coalesce(received.received_to_review, 0) as received_to_review,
        coalesce(received.received_ready, 0) as received_ready,
        coalesce(received.received_processed, 0) as received_processed,
        coalesce(processed.documents_processed, 0) as documents_processed,
        coalesce(processed.documents_auto_processed, 0) as documents_auto_processed
    from client_days
    left join received using (client_id, day)
    left join processed using (client_id, day)

),

final as (

    select
        cast(client_id as string) as client_id,
        cast(day as date) as day,
        cast(documents_received as bigint) as documents_received,
        cast(received_to_review as bigint) as received_to_review,
        cast(received_ready as bigint) as received_ready,
        cast(received_processed as bigint) as received_processed,
        cast(documents_processed as bigint) as documents_processed,
        cast(documents_auto_processed as bigint) as documents_auto_processed
    from joined

)

select * from final
