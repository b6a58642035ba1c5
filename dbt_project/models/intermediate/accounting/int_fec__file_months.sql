-- Every month a FEC file covers: from its first to its last month holding an entry other than an opening
-- entry, gaps included (a month without entries still has month-end balances). One row per file and month.

with

files as (

    select * from {{ ref('int_fec__files') }}

),

account_monthly as (

    select * from {{ ref('int_fec__account_monthly') }}

),

covered_months as (

    select
        file_sha256,
        client_id,
        closing_date,
        {{ vigie.date_series_rows('first_entry_month', 'last_entry_month', 'month') }} as month
    from files
    where first_entry_month is not null

),

lines_per_month as (

    select file_sha256, month, sum(line_count) as line_count
    from account_monthly
    group by file_sha256, month

),

joined as (

    select
        covered_months.file_sha256,
        covered_months.client_id,
        covered_months.closing_date,
        covered_months.month,
        coalesce(lines_per_month.line_count, 0) as line_count
    from covered_months
    left join lines_per_month using (file_sha256, month)

)

select * from joined
