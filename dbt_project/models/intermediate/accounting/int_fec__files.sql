-- One row per current FEC file (one fiscal year of one company) with the months its ledger covers.

with

account_monthly as (

    select * from {{ ref('int_fec__account_monthly') }}

),

files as (

    select
        file_sha256,
        any_value(client_id) as client_id,
        any_value(siren) as siren,
        any_value(closing_date) as closing_date,
        any_value(source_file) as source_file,
        min(month) as first_line_month,
        min(month) filter (where not is_opening) as first_entry_month,
        max(month) filter (where not is_opening) as last_entry_month,
        sum(line_count) as line_count,
        coalesce(sum(line_count) filter (where is_opening), 0) as opening_line_count
    from account_monthly
    group by file_sha256

)

select * from files
