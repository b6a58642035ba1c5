-- The conformity checks of each FEC file version that read only that version (domain.md §1, LPF art. A47 A-1 and
-- the checks of the DGFiP's Test Compta Demat, seed fec_conformity_checks): one row per version and check, with
-- the number of failures and up to 20 physical line numbers that show them (header = line 1). The check of the
-- opening balances against the previous year needs two files: rpt_fec_conformity adds it.
-- Vigie loads what it can and quarantines the rest, so the checks on formats read the quarantine
-- (stg_ingest__rejections, stg_ingest__flags) and the file's own description (details), and the checks on content
-- read the loaded lines. Incremental by file version like int_fec__account_monthly: the ledger's lines are read
-- once, when their version arrives (macros/current_file_versions.sql).

{{ config(post_hook="{{ forget_retired_file_versions() }}") }}  {# rendered when it runs, with {{ this }} #}

with

checks as (

    select * from {{ ref('fec_conformity_checks') }}

),

files as (

    -- the FEC versions whose lines are in the ledger now and not yet checked
    select
        sha256,
        details,
        try_cast(json_extract_string(details, '$.closing_date') as date) as closing_date,
        regexp_extract(file_path, '([^/]+)$', 1) as file_name
    from {{ ref('stg_ingest__files') }}
    where source = 'accounting' and status = 'loaded'
    {% if is_incremental() -%}
        and sha256 in ({{ new_file_versions() }})
    {%- endif %}

),

lines as (

    select
        _file_sha256 as sha256,
        _line_number as line_number,
        journal_code,
        journal_label,
        entry_number,
        entry_date,
        account_number,
        account_label,
        document_reference,
        document_date,
        entry_label,
        debit,
        credit,
        validation_date,
        is_opening
    from ({{ ledger_lines_to_sum() }}) as ledger_lines

),

rejections as (

    select sha256, line_number, reason from {{ ref('stg_ingest__rejections') }}
    where line_number is not null and sha256 in (select files.sha256 from files)

),

flags as (

    select sha256, line_number, column_name from {{ ref('stg_ingest__flags') }}
    where sha256 in (select files.sha256 from files)

),

-------------------------------------------------------------------- the file itself

file_name as (

    select
        sha256,
        'file_name' as check_id,
        case
            when not regexp_full_match(file_name, '[0-9]{9}FEC[0-9]{8}([.].*)?') then 1
            when try_strptime(substr(file_name, 13, 8), '%Y%m%d') is null then 1
            when {{ luhn_sum('substr(file_name, 1, 9)') }} % 10 <> 0 then 1
            when substr(file_name, 1, 9) = '000000000' then 1  -- passes the Luhn check, names no company
            else 0
        end as failing_count,
        cast(null as bigint) as line_number
    from files

),

encoding as (

    select
        sha256,
        'encoding' as check_id,
        case when json_extract_string(details, '$.encoding') in ('ascii', 'utf-8', 'iso-8859-15') then 0
            else 1 end as failing_count,
        cast(null as bigint) as line_number
    from files

),

separator as (

    select
        sha256,
        'separator' as check_id,
        case when json_extract_string(details, '$.separator') in ('tab', '|') then 0 else 1 end as failing_count,
        cast(null as bigint) as line_number
    from files

),

header_fields as (

    -- each standard field the header has, with the name it is written under
    select
        sha256,
        field,
        json_extract_string(details, '$.columns."' || field || '"') as written_as
    from (
        select sha256, details, unnest(json_keys(json_extract(details, '$.columns'))) as field from files
    ) as file_fields

),

misnamed_fields as (

    select sha256, count(*) as misnamed
    from header_fields
    where written_as <> field
    group by sha256

),

column_names as (

    -- a mandatory column missing, or named otherwise than the standard (case and spelling), is on line 1
    select
        files.sha256,
        'column_names' as check_id,
        case
            when coalesce(cast(json_extract(files.details, '$.column_count') as integer), 0)
                < case json_extract_string(files.details, '$.regime') when 'ba' then 21 when 'bnc' then 22 else 18 end
                then 1
            else coalesce(misnamed_fields.misnamed, 0)
        end as failing_count,
        cast(1 as bigint) as line_number
    from files
    left join misnamed_fields on files.sha256 = misnamed_fields.sha256

),

-------------------------------------------------------------------- lines quarantined or repaired on the way in

quarantined as (

    select
        sha256,
        line_number,
        case
            when reason like 'line has % fields%' then 'field_count'
            when reason like '% is empty' then 'mandatory_fields'
            when reason like '%is not a date%' then 'date_format'
            when reason like '%is not an amount%' or reason like '%is out of range%' or reason like 'Sens %'
                then 'amount_format'
        end as check_id
    from rejections

),

flagged as (

    select
        sha256,
        line_number,
        case when column_name = 'Montantdevise' then 'amount_format' else 'date_format' end as check_id
    from flags
    where column_name in ('PieceDate', 'DateLet', 'ValidDate', 'DateRglt', 'Montantdevise')

),

-------------------------------------------------------------------- line by line

line_checks as (

    select sha256, line_number, 'mandatory_fields' as check_id
    from lines
    where coalesce(trim(journal_code), '') = '' or coalesce(trim(journal_label), '') = ''
        or coalesce(trim(entry_number), '') = '' or coalesce(trim(account_label), '') = ''
        or coalesce(trim(document_reference), '') = '' or document_date is null
        or coalesce(trim(entry_label), '') = ''
    union all
    select sha256, line_number, 'account_number_format' as check_id
    from lines
    where not regexp_matches(account_number, '^[0-9]{3}')
    union all
    select sha256, line_number, 'no_class_8_9_account' as check_id
    from lines
    where left(account_number, 1) in ('8', '9')
    union all
    select sha256, line_number, 'debit_or_credit' as check_id
    from lines
    where (debit <> 0 and credit <> 0) or (debit = 0 and credit = 0)
    union all
    select sha256, line_number, 'validation_date' as check_id
    from lines
    where validation_date is null or validation_date < entry_date

),

-------------------------------------------------------------------- balance

entries as (

    -- an entry is a journal code and an entry number (the date apart: a number reused on another day is
    -- entry_numbering's business)
    select
        sha256,
        journal_code,
        entry_number,
        sum(debit) - sum(credit) as imbalance
    from lines
    group by sha256, journal_code, entry_number

),

unbalanced_entry_lines as (

    select lines.sha256, lines.line_number, 'entry_balanced' as check_id
    from lines
    inner join entries using (sha256, journal_code, entry_number)
    inner join checks on checks.check_id = 'entry_balanced'
    where abs(entries.imbalance) > coalesce(checks.tolerance, 0)

),

journal_months as (

    select
        sha256,
        journal_code,
        date_trunc('month', entry_date) as month,
        sum(debit) - sum(credit) as imbalance
    from lines
    group by sha256, journal_code, date_trunc('month', entry_date)

),

unbalanced_journal_month_lines as (

    select lines.sha256, lines.line_number, 'journal_month_balanced' as check_id
    from lines
    inner join journal_months
        on lines.sha256 = journal_months.sha256
        and lines.journal_code = journal_months.journal_code
        and date_trunc('month', lines.entry_date) = journal_months.month
    inner join checks on checks.check_id = 'journal_month_balanced'
    where abs(journal_months.imbalance) > coalesce(checks.tolerance, 0)

),

file_balance as (

    select
        lines.sha256,
        'file_balanced' as check_id,
        case when abs(sum(lines.debit) - sum(lines.credit)) > coalesce(any_value(checks.tolerance), 0) then 1
            else 0 end as failing_count,
        cast(null as bigint) as line_number
    from lines
    inner join checks on checks.check_id = 'file_balanced'
    group by lines.sha256

),

-------------------------------------------------------------------- numbering

numbered_entries as (

    -- one row per entry with its number's digits; an entry number used on two days is a duplicate
    select
        sha256,
        journal_code,
        entry_number,
        try_cast(regexp_extract(entry_number, '([0-9]+)$', 1) as bigint) as number,
        min(entry_date) as first_date,
        count(distinct entry_date) as dates,
        min(line_number) as first_line
    from lines
    group by sha256, journal_code, entry_number

),

sequenced as (

    select
        *,
        lag(number) over by_number as previous_number,
        max(first_date) over (
            partition by sha256, journal_code order by number, entry_number
            rows between unbounded preceding and 1 preceding
        ) as latest_date_before
    from numbered_entries
    window by_number as (partition by sha256, journal_code order by number, entry_number)

),

numbering_problems as (

    -- a gap counts its missing numbers, on the line of the entry after it; a duplicate, or an entry dated before
    -- an entry of a smaller number, counts once
    select sha256, first_line as line_number, 'entry_numbering' as check_id,
        case
            when number - previous_number > 1 then number - previous_number - 1
            else 1
        end as failing_count
    from sequenced
    where number - previous_number > 1
        or number = previous_number
        or dates > 1
        or first_date < latest_date_before

),

-------------------------------------------------------------------- the fiscal year

fiscal_year_lines as (

    select lines.sha256, lines.line_number, 'fiscal_year_dates' as check_id
    from lines
    inner join files using (sha256)
    inner join checks on checks.check_id = 'fiscal_year_dates'
    where files.closing_date is not null
        and (
            lines.entry_date > files.closing_date
            or lines.entry_date <= files.closing_date - to_months(cast(coalesce(checks.tolerance, 12) as integer))
        )

),

file_opening as (

    select
        sha256,
        count(*) filter (where is_opening) as opening_lines,
        min(entry_date) filter (where not is_opening) as first_entry_date
    from lines
    group by sha256

),

opening_problems as (

    -- no opening entry at all: one failure, no line to show
    select sha256, cast(null as bigint) as line_number, 'opening_entries' as check_id
    from file_opening
    where opening_lines = 0
    union all
    -- an opening line dated after the first other entry, or on a class 6 to 9 account
    select lines.sha256, lines.line_number, 'opening_entries' as check_id
    from lines
    inner join file_opening using (sha256)
    where lines.is_opening
        and (lines.entry_date > file_opening.first_entry_date or left(lines.account_number, 1) not in ('1', '2', '3', '4', '5'))

),

closing_entries as (

    -- an entry that posts to the result account (12) together with class 6 or 7 accounts closes the year
    select sha256, journal_code, entry_number
    from lines
    group by sha256, journal_code, entry_number
    having bool_or(starts_with(account_number, '12')) and bool_or(left(account_number, 1) in ('6', '7'))

),

closing_entry_lines as (

    select lines.sha256, lines.line_number, 'no_closing_entries' as check_id
    from lines
    inner join closing_entries using (sha256, journal_code, entry_number)

),

-------------------------------------------------------------------- together

line_failures as (

    select sha256, line_number, check_id from quarantined where check_id is not null
    union all
    select sha256, line_number, check_id from flagged
    union all
    select * from line_checks
    union all
    select * from unbalanced_entry_lines
    union all
    select * from unbalanced_journal_month_lines
    union all
    select * from fiscal_year_lines
    union all
    select * from opening_problems
    union all
    select * from closing_entry_lines

),

failures as (

    select sha256, check_id, count(*) as failing_count, min(line_number, 20) as lines
    from line_failures
    group by sha256, check_id
    union all
    select sha256, check_id, sum(failing_count) as failing_count, min(line_number, 20) as lines
    from numbering_problems
    group by sha256, check_id
    union all
    select sha256, check_id, failing_count,
        case when failing_count > 0 and line_number is not null then [line_number] else [] end as lines
    from (
        select * from file_name
        union all select * from encoding
        union all select * from separator
        union all select * from column_names
        union all select * from file_balance
    ) as file_level

),

final as (

    select
        sha256 as file_sha256,
        check_id,
        cast(failing_count as bigint) as failing_count,
        coalesce(lines[1:20], []) as example_lines
    from failures

)

select * from final
