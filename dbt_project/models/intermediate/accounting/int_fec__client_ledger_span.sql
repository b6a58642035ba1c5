-- The first and last month each client's ledgers cover (int_fec__client_months), without the files they come from:
-- what dim_clients says of a client's books. A corrected re-export of a ledger leaves it as it was, so it is a build
-- gate (int_fec__client_ledger_span.yml).

with

client_months as (

    select * from {{ ref('int_fec__client_months') }}

),

spans as (

    select client_id, min(month) as first_ledger_month, max(month) as last_ledger_month
    from client_months
    group by client_id

)

select * from spans
