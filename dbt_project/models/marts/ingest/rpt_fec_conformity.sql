-- The FEC conformity report auditors run (LPF art. A47 A-1 and the checks of the DGFiP's Test Compta Demat): one
-- row per current FEC file version and check of the seed fec_conformity_checks, which holds each check's severity
-- and tolerance. A check with failures takes its severity as status; `example_lines` lists up to 20 physical line
-- numbers of the file (header = line 1) that show the problem. The checks of one file come from
-- int_fec__file_conformity; the opening balances of year N are compared here with the closing balances of year N-1,
-- from the ledger's per-file account totals (int_fec__account_monthly).

with

checks as (

    select * from {{ ref('fec_conformity_checks') }}

),

files as (

    -- the FEC versions whose lines are in the ledger now
    select
        file_path,
        sha256,
        client_id,
        try_cast({{ vigie.json_text_at('details', "'$.closing_date'") }} as date) as closing_date
    from {{ ref('stg_ingest__files') }}
    where source = 'accounting' and status = 'loaded'

),

file_checks as (

    select file_sha256 as sha256, check_id, failing_count, example_lines as lines
    from {{ ref('int_fec__file_conformity') }}

),

account_totals as (

    -- balance-sheet accounts that carry over as they are: classes 1 to 5 but the result and its allocation
    select
        file_sha256 as sha256,
        account_number,
        sum(debit - credit) as closing_balance,
        sum(debit - credit) filter (where is_opening) as opening_balance
    from {{ ref('int_fec__account_monthly') }}
    where left(account_number, 1) in ('1', '2', '3', '4', '5')
        and not ({{ vigie.starts_with('account_number', "'106'") }} or {{ vigie.starts_with('account_number', "'11'") }}
            or {{ vigie.starts_with('account_number', "'12'") }} or {{ vigie.starts_with('account_number', "'457'") }})
    group by file_sha256, account_number

),

-------------------------------------------------------------------- year N against year N-1

previous_files as (

    -- the latest earlier fiscal year of the same client, when it is loaded
    select
        files.sha256,
        max_by(earlier.sha256, earlier.closing_date) as previous_sha256
    from files
    inner join files as earlier
        on files.client_id = earlier.client_id
        and files.closing_date > earlier.closing_date
        and files.closing_date - interval 13 month <= earlier.closing_date
    group by files.sha256

),

opening_balances as (

    select sha256, account_number, opening_balance as balance
    from account_totals
    where opening_balance is not null

),

closing_balances as (

    select sha256, account_number, closing_balance as balance
    from account_totals

),

compared_accounts as (

    -- every account in the closing of N-1 or the opening of N
    select previous_files.sha256, closing_balances.account_number
    from previous_files
    inner join closing_balances on previous_files.previous_sha256 = closing_balances.sha256
    union
    select opening_balances.sha256, opening_balances.account_number
    from opening_balances
    inner join previous_files using (sha256)

),

carry_over_problems as (

    select
        compared_accounts.sha256,
        compared_accounts.account_number
    from compared_accounts
    inner join previous_files using (sha256)
    left join opening_balances
        on compared_accounts.sha256 = opening_balances.sha256
        and compared_accounts.account_number = opening_balances.account_number
    left join closing_balances
        on previous_files.previous_sha256 = closing_balances.sha256
        and compared_accounts.account_number = closing_balances.account_number
    inner join checks on checks.check_id = 'opening_matches_previous_closing'
    where abs(coalesce(opening_balances.balance, 0) - coalesce(closing_balances.balance, 0))
        > coalesce(checks.tolerance, 0)

),

opening_lines as (

    -- the opening lines of the accounts whose opening differs: a few files and accounts, read from the ledger
    select
        ledger.sha256,
        ledger.account_number,
        ledger.line_number
    from (
        select _file_sha256 as sha256, account_number, _line_number as line_number
        from {{ ref('stg_accounting__fec_lines') }}
        where is_opening and _file_sha256 in (select carry_over_problems.sha256 from carry_over_problems)
    ) as ledger  -- noqa: ST05 (the filter on the few versions must apply before the join, on the ledger's scan)
    inner join carry_over_problems
        on ledger.sha256 = carry_over_problems.sha256
        and ledger.account_number = carry_over_problems.account_number

),

carry_over_counts as (

    -- one failure per account whose opening differs
    select sha256, count(*) as failing_count
    from carry_over_problems
    group by sha256

),

carry_over_lines as (

    select sha256, {{ vigie.smallest_values('line_number', 20) }} as lines
    from opening_lines
    group by sha256

),

carry_over_by_file as (

    -- its opening lines shown (none when the account has no opening line)
    select
        carry_over_counts.sha256,
        'opening_matches_previous_closing' as check_id,
        carry_over_counts.failing_count,
        {{ vigie.first_items('carry_over_lines.lines', 20) }} as lines
    from carry_over_counts
    left join carry_over_lines on carry_over_counts.sha256 = carry_over_lines.sha256

),

failures as (

    select sha256, check_id, failing_count, lines from file_checks
    union all
    select sha256, check_id, failing_count, lines from carry_over_by_file

),

final as (

    select
        cast(files.file_path as string) as file_path,
        cast(files.sha256 as string) as sha256,
        cast(files.client_id as string) as client_id,
        cast(files.closing_date as date) as closing_date,
        cast(checks.check_id as string) as check_id,
        cast(checks.position as integer) as check_position,
        cast(checks.severity as string) as severity,
        cast(case when coalesce(failures.failing_count, 0) = 0 then 'ok' else checks.severity end as string) as status,
        cast(coalesce(failures.failing_count, 0) as bigint) as failing_count,
        to_json({{ vigie.first_items('failures.lines', 20) }}) as example_lines,
        cast(checks.description_{{ var('language', 'fr') }} as string) as description,
        cast(checks.reference as string) as reference
    from files
    cross join checks
    left join failures
        on files.sha256 = failures.sha256
        and checks.check_id = failures.check_id

)

select * from final
