-- Which FEC file each client-month belongs to. Several files of one company can hold lines of the same month
-- (an entry posted late, a fiscal year longer than twelve months, a file holding months outside the closing date
-- in its name): the month belongs to the file with the earliest closing date on or after the month's first day
-- among the files covering it, else to the one with the latest closing date, so flows are never counted twice.

with

file_months as (

    select * from {{ ref('int_fec__file_months') }}

),

ranked as (

    select
        client_id,
        month,
        file_sha256,
        row_number() over (
            partition by client_id, month
            order by
                case when closing_date >= month then 0 when closing_date is not null then 1 else 2 end asc,
                case when closing_date >= month then closing_date end asc,
                closing_date desc,
                file_sha256 asc
        ) as file_rank,
        count(*) over (partition by client_id, month) as candidate_file_count
    from file_months

),

attributed as (

    select client_id, month, file_sha256, candidate_file_count
    from ranked
    where file_rank = 1

)

select * from attributed
