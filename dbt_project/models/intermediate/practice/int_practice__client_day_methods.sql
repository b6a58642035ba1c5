-- Documents received per client, day and sending method up to the reference date, in long form: the marts
-- build their JSON breakdowns (received_by_method) from it over their own rows.

{%- set as_of = as_of_date() %}

with

documents as (

    select *
    from {{ ref('int_practice__documents') }}
    where client_id is not null and received_date <= {{ as_of }}

),

counted as (

    select
        cast(client_id as string) as client_id,
        cast(received_date as date) as day,
        cast(sending_method as string) as sending_method,
        cast(count(*) as bigint) as documents_received
    from documents
    group by client_id, received_date, sending_method

)

select * from counted
