-- Ledger lines summed per file, account, month and opening flag: the one pass over the ledger (tens of millions
-- of lines); every later step works on these few rows. The file's identity (client, SIREN, closing date, path)
-- is the same on every line of a file, so it rides along as any_value instead of a second pass.
-- Incremental by file version: a run sums only the lines of versions loaded since the last build, and the
-- versions superseded or held back since leave the table (macros/current_file_versions.sql). A change to the dbt
-- project rebuilds it in full (orchestration/dbt_assets.py).

{{ config(post_hook="{{ forget_retired_file_versions() }}") }}  {# rendered when it runs, with {{ this }} #}

with

fec_lines as (

    {{ ledger_lines_to_sum() }}

),

aggregated as (

    select
        _file_sha256 as file_sha256,
        account_number,
        cast(date_trunc('month', entry_date) as date) as month,
        is_opening,
        sum(debit) as debit,
        sum(credit) as credit,
        count(*) as line_count,
        any_value(client_id) as client_id,
        any_value(siren) as siren,
        any_value(closing_date) as closing_date,
        any_value(_source_file) as source_file
    from fec_lines
    group by file_sha256, account_number, month, is_opening

)

select * from aggregated
