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

versions as (

    -- the FEC versions whose lines are in the ledger now and not yet checked
    select
        sha256,
        -- a small number stands for the version in the line-level work: grouping ten million lines by a 64-character
        -- hash took 4 GB
        row_number() over (order by sha256) as file_index,
        details,
        try_cast({{ vigie.json_text_at('details', "'$.closing_date'") }} as date) as closing_date,
        regexp_extract(file_path, '([^/]+)$', 1) as file_name
    from {{ ref('stg_ingest__files') }}
    where source = 'accounting' and status = 'loaded'
    {% if is_incremental() -%}
        and sha256 in ({{ new_file_versions() }})
    {%- endif %}

),

files as (

    -- with the check of the fiscal year's dates: a line dated on or before fiscal_year_floor (the closing date less
    -- the check's tolerance in months) fails it. The tolerance is joined to each file, not to each of the ten million
    -- lines (a nested-loop join of 0.5 s)
    select
        versions.*,
        fiscal_year_check.check_id is not null and versions.closing_date is not null as checks_fiscal_year,
        {{ dbt.dateadd('month', '-cast(coalesce(fiscal_year_check.tolerance, 12) as integer)', 'versions.closing_date') }}
        as fiscal_year_floor
    from versions
    left join checks as fiscal_year_check on fiscal_year_check.check_id = 'fiscal_year_dates'

),

lines as {{ vigie.not_materialized() }} (  -- each check reads the ledger's columns it needs, instead of a copy of all of them

    select
        files.file_index,
        ledger_lines._line_number as line_number,
        ledger_lines.journal_code,
        ledger_lines.entry_number,
        ledger_lines.entry_date,
        ledger_lines.account_number,
        ledger_lines.debit,
        ledger_lines.credit,
        ledger_lines.validation_date,
        ledger_lines.is_opening,
        files.closing_date,
        files.checks_fiscal_year,
        files.fiscal_year_floor,
        coalesce(trim(ledger_lines.journal_code), '') = '' or coalesce(trim(ledger_lines.journal_label), '') = ''
        or coalesce(trim(ledger_lines.entry_number), '') = '' or coalesce(trim(ledger_lines.account_label), '') = ''
        or coalesce(trim(ledger_lines.document_reference), '') = '' or ledger_lines.document_date is null
        or coalesce(trim(ledger_lines.entry_label), '') = '' as lacks_mandatory_field
    from ({{ ledger_lines_to_sum() }}) as ledger_lines
    inner join files on ledger_lines._file_sha256 = files.sha256

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
            when not {{ matches_fully('file_name', '[0-9]{9}FEC[0-9]{8}([.].*)?') }} then 1
            when {{ try_parse_compact_date('substr(file_name, 13, 8)') }} is null then 1
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
        case when {{ vigie.json_text_at('details', "'$.encoding'") }} in ('ascii', 'utf-8', 'iso-8859-15') then 0
            else 1 end as failing_count,
        cast(null as bigint) as line_number
    from files

),

separator as (

    select
        sha256,
        'separator' as check_id,
        case when {{ vigie.json_text_at('details', "'$.separator'") }} in ('tab', '|') then 0 else 1 end as failing_count,
        cast(null as bigint) as line_number
    from files

),

header_fields as (

    -- each standard field the header has, with the name it is written under
    select
        sha256,
        field,
        {{ vigie.json_text_at('details', "'$.columns.' || field") }} as written_as  -- FEC names: letters only
    from (
        select sha256, details, {{ vigie.json_key_rows('details', "'$.columns'") }} as field from files
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
            when coalesce(cast({{ vigie.json_text_at('files.details', "'$.column_count'") }} as integer), 0)
                < case {{ vigie.json_text_at('files.details', "'$.regime'") }} when 'ba' then 21 when 'bnc' then 22 else 18 end
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

    select file_index, line_number, 'mandatory_fields' as check_id
    from lines
    where lacks_mandatory_field
    union all
    select file_index, line_number, 'account_number_format' as check_id
    from lines
    where not {{ matches_fully('account_number', '[0-9]{3}.*') }}
    union all
    select file_index, line_number, 'no_class_8_9_account' as check_id
    from lines
    where left(account_number, 1) in ('8', '9')
    union all
    select file_index, line_number, 'debit_or_credit' as check_id
    from lines
    where (debit <> 0 and credit <> 0) or (debit = 0 and credit = 0)
    union all
    select file_index, line_number, 'validation_date' as check_id
    from lines
    where validation_date is null or validation_date < entry_date
    union all
    select file_index, line_number, 'fiscal_year_dates' as check_id
    from lines
    where checks_fiscal_year and (entry_date > closing_date or entry_date <= fiscal_year_floor)

),

-------------------------------------------------------------------- entries: balance, numbering, closing

entries as (

    -- an entry is a journal code and an entry number (a number reused on another day is entry_numbering's business)
    select
        file_index,
        journal_code,
        entry_number,
        sum(debit) - sum(credit) as imbalance,
        try_cast(regexp_extract(entry_number, '([0-9]+)$', 1) as bigint) as number,
        min(entry_date) as first_date,
        min(entry_date) <> max(entry_date) as on_two_days,
        min(line_number) as first_line,
        -- posting to the result account (12) together with class 6 or 7 accounts closes the year
        bool_or({{ vigie.starts_with('account_number', "'12'") }}) and bool_or(left(account_number, 1) in ('6', '7'))
        as closes_the_year
    from lines
    group by file_index, journal_code, entry_number

),

unbalanced_entries as (

    select entries.file_index, entries.journal_code, entries.entry_number
    from entries
    inner join checks on checks.check_id = 'entry_balanced'
    where abs(entries.imbalance) > coalesce(checks.tolerance, 0)

),

failing_entry_lines as (

    -- the lines of the few failing entries, by semi-joins: the failing entries are the side kept in memory, never
    -- the ten million lines (a plain join built its table on the lines: 1.7 GB at 10 M lines). An entry without a
    -- number or journal is an entry too: its empty fields match (is not distinct from). The files holding a
    -- failing entry are picked first: DuckDB still built the semi-join's table on every line (2.2 s of CPU at
    -- 10 M lines when no entry fails), and now only on those files' lines.
    select file_index, line_number, 'entry_balanced' as check_id
    from lines
    where file_index in (select unbalanced_entries.file_index from unbalanced_entries) and exists (
        select 1 from unbalanced_entries
        where unbalanced_entries.file_index = lines.file_index
            and unbalanced_entries.journal_code is not distinct from lines.journal_code
            and unbalanced_entries.entry_number is not distinct from lines.entry_number
    )
    union all
    select file_index, line_number, 'no_closing_entries' as check_id
    from lines
    where file_index in (select entries.file_index from entries where entries.closes_the_year) and exists (
        select 1 from entries
        where entries.closes_the_year
            and entries.file_index = lines.file_index
            and entries.journal_code is not distinct from lines.journal_code
            and entries.entry_number is not distinct from lines.entry_number
    )

),

sequenced as (

    select
        *,
        lag(number) over by_number as previous_number,
        max(first_date) over (
            partition by file_index, journal_code order by number, entry_number
            rows between unbounded preceding and 1 preceding
        ) as latest_date_before
    from entries
    window by_number as (partition by file_index, journal_code order by number, entry_number)

),

numbering_problems as (

    -- a gap counts its missing numbers, on the line of the entry after it; a duplicate, or an entry dated before
    -- an entry of a smaller number, counts once
    select
        file_index,
        first_line as line_number,
        'entry_numbering' as check_id,
        case when number - previous_number > 1 then number - previous_number - 1 else 1 end as failing_count
    from sequenced
    where number - previous_number > 1
        or number = previous_number
        or on_two_days
        or first_date < latest_date_before

),

-------------------------------------------------------------------- journals, months, the file

journal_months as (

    select
        file_index,
        journal_code,
        date_trunc('month', entry_date) as month,
        sum(debit) - sum(credit) as imbalance
    from lines
    group by file_index, journal_code, date_trunc('month', entry_date)

),

failing_journal_month_lines as (

    select lines.file_index, lines.line_number, 'journal_month_balanced' as check_id
    from lines
    inner join journal_months
        on lines.file_index = journal_months.file_index
        and lines.journal_code = journal_months.journal_code
        and date_trunc('month', lines.entry_date) = journal_months.month
    inner join checks on checks.check_id = 'journal_month_balanced'
    where abs(journal_months.imbalance) > coalesce(checks.tolerance, 0)

),

file_totals as (

    select
        file_index,
        sum(debit) - sum(credit) as imbalance,
        count(*) filter (where is_opening) as opening_lines,
        min(entry_date) filter (where not is_opening) as first_entry_date
    from lines
    group by file_index

),

file_balance as (

    select
        files.sha256,
        'file_balanced' as check_id,
        case when abs(coalesce(file_totals.imbalance, 0)) > coalesce(checks.tolerance, 0) then 1 else 0 end
        as failing_count,
        cast(null as bigint) as line_number
    from files
    left join file_totals on files.file_index = file_totals.file_index
    inner join checks on checks.check_id = 'file_balanced'

),

opening_problems as (

    -- no opening entry at all: one failure, no line to show
    select file_index, cast(null as bigint) as line_number, 'opening_entries' as check_id
    from file_totals
    where opening_lines = 0
    union all
    -- an opening line dated after the first other entry, or on a class 6 to 9 account
    select lines.file_index, lines.line_number, 'opening_entries' as check_id
    from lines
    inner join file_totals on lines.file_index = file_totals.file_index
    where lines.is_opening
        and (
            lines.entry_date > file_totals.first_entry_date
            or left(lines.account_number, 1) not in ('1', '2', '3', '4', '5')
        )

),

-------------------------------------------------------------------- together

line_failures as (

    select files.file_index, quarantined.line_number, quarantined.check_id
    from quarantined
    inner join files on quarantined.sha256 = files.sha256
    where quarantined.check_id is not null
    union all
    select files.file_index, flagged.line_number, flagged.check_id
    from flagged
    inner join files on flagged.sha256 = files.sha256
    union all
    select * from line_checks
    union all
    select * from failing_entry_lines
    union all
    select * from failing_journal_month_lines
    union all
    select * from opening_problems

),

failures as (

    select files.sha256, line_failures.check_id, count(*) as failing_count, {{ vigie.smallest_values('line_failures.line_number', 20) }} as lines
    from line_failures
    inner join files on line_failures.file_index = files.file_index
    group by files.sha256, line_failures.check_id
    union all
    select
        files.sha256,
        numbering_problems.check_id,
        sum(numbering_problems.failing_count) as failing_count,
        {{ vigie.smallest_values('numbering_problems.line_number', 20) }} as lines
    from numbering_problems
    inner join files on numbering_problems.file_index = files.file_index
    group by files.sha256, numbering_problems.check_id
    union all
    select
        sha256,
        check_id,
        failing_count,
        {{ vigie.number_list_of('case when failing_count > 0 then line_number end') }} as lines
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
        {{ vigie.first_items('lines', 20) }} as example_lines
    from failures

)

select * from final
