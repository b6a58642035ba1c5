"""Write a client's ledger as FEC files: one per fiscal year, plus older re-exports of the current year.

File names follow LPF art. A47 A-1: `<SIREN>FEC<closing date AAAAMMJJ>.txt`. An older monthly re-export of the
current year is kept beside the newest one as `<SIREN>FEC<closing>_export-<AAAAMM>.txt` (AAAAMM: its last
month); same SIREN and closing date, fewer months, older modification time, so the newest export supersedes
it.

Each client writes in its own legal variant (separator, encoding, line ending, Debit/Credit or Montant/Sens,
18, 21 or 22 columns): see `FecVariant` in firm.py. Columns are formatted as whole numpy/list blocks, not one
line at a time, which keeps 10 million lines within a minute or so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from assets.generate.firm import add_months, month_end
from assets.generate.ledger import ACCOUNTS, AN, BQ, JOURNALS, Ledger, LedgerLines, day_number, opening_entry

BASE_COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
    "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
    "ValidDate", "Montantdevise", "Idevise",
)
BA_COLUMNS = ("DateRglt", "ModeRglt", "NatOp")
BNC_COLUMNS = ("IdClient",)
CLIENT_ACCOUNT = ACCOUNTS.index("411000")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FecFile:
    path: Path
    lines: int  # data lines, header excluded
    bytes: int


def header(layout: str, amount_layout: str) -> list[str]:
    columns = list(BASE_COLUMNS)
    if amount_layout != "debit_credit":
        position = columns.index("Debit")
        columns[position : position + 2] = ["Montant", "Sens"]
    if layout in ("BA", "BNC"):
        columns += BA_COLUMNS
    if layout == "BNC":
        columns += BNC_COLUMNS
    return columns


def write_client_files(ledger: Ledger, directory: Path) -> list[FecFile]:
    """Every FEC file of one client, oldest fiscal year first."""
    written = []
    years = ledger.fiscal_years
    for position, (start, closing) in enumerate(years):
        previous_start = day_number(years[position - 1][0]) if position else None
        stem = f"{ledger.client.siren}FEC{closing:%Y%m%d}"
        cutoff = min(day_number(closing), ledger.cutoff)
        written.append(_write(ledger, directory / f"{stem}.txt", start, previous_start, cutoff))
        if position == len(years) - 1:
            for lag in ledger.client.reexport_lags:
                last = add_months(ledger.client.last_month, -lag)
                if last < start:
                    continue
                older = day_number(month_end(last))
                written.append(
                    _write(ledger, directory / f"{stem}_export-{last:%Y%m}.txt", start, previous_start, older)
                )
    return written


def _write(ledger: Ledger, path: Path, start: date, previous_start: int | None, cutoff: int) -> FecFile:
    first = day_number(start)
    opening = opening_entry(ledger.lines, first, previous_start)
    body = ledger.lines.select((ledger.lines.day >= first) & (ledger.lines.day <= cutoff))
    order = np.lexsort((np.arange(len(body.day)), body.entry, body.journal, body.day))
    lines = LedgerLines.concat([opening, body.select(order)])
    variant = ledger.client.variant
    rows = _format(ledger, lines, cutoff)
    text = variant.newline.join(
        [variant.separator.join(header(ledger.client.sector.fec_layout, variant.amount_layout))]
        + [variant.separator.join(row) for row in zip(*rows, strict=True)]
    )
    data = (text + variant.newline).encode(variant.encoding)
    path.write_bytes(data)
    # The modification time says when the export was made: the morning after its last day.
    exported_at = (EPOCH + timedelta(days=cutoff + 1, hours=6)).timestamp()
    os.utime(path, (exported_at, exported_at))
    return FecFile(path, len(lines.day), len(data))


def _entry_numbers(lines: LedgerLines) -> np.ndarray:
    """EcritureNum: entries numbered 1, 2, ... within each journal, in file order (entries are contiguous)."""
    starts = np.ones(len(lines.entry), dtype=bool)
    starts[1:] = (lines.entry[1:] != lines.entry[:-1]) | (lines.journal[1:] != lines.journal[:-1])
    numbers = np.zeros(len(lines.entry), np.int64)
    for journal in np.unique(lines.journal):
        mask = lines.journal == journal
        numbers[mask] = np.cumsum(starts[mask])
    return numbers


def _format(ledger: Ledger, lines: LedgerLines, cutoff: int) -> list[list[str]]:
    """The file's columns, each as a list of strings."""
    client = ledger.client
    variant = client.variant
    first_day = int(lines.day.min())
    date_table = _date_strings(first_day, cutoff)

    def dates(days: np.ndarray) -> list[str]:
        return date_table[days - first_day].tolist()

    codes = np.array([code for code, _ in JOURNALS], dtype=object)
    journal_labels = np.array([label for _, label in JOURNALS], dtype=object)
    padding = "0" * (client.account_width - 6)
    account_numbers = np.array([number + padding for number in ACCOUNTS], dtype=object)
    account_labels = np.array(ledger.account_labels, dtype=object)
    aux_numbers = np.array([""] + [number for number, _ in ledger.aux_accounts], dtype=object)
    aux_labels = np.array([""] + [label for _, label in ledger.aux_accounts], dtype=object)
    day_list = dates(lines.day)
    amounts = np.abs(lines.amount).tolist()
    formatted = np.array([f"{a // 100},{a % 100:02d}" for a in amounts], dtype=object)
    debit = lines.amount > 0
    if variant.amount_layout == "debit_credit":
        money = [np.where(debit, formatted, "0,00").tolist(), np.where(debit, "0,00", formatted).tolist()]
    else:
        sense = ("D", "C") if variant.amount_layout == "sens_dc" else ("+1", "-1")
        money = [formatted.tolist(), np.where(debit, *sense).tolist()]
    empty = [""] * len(day_list)
    next_months = lines.day.astype("datetime64[D]").astype("datetime64[M]") + 1
    month_ends = next_months.astype("datetime64[D]").astype(np.int64) - 1
    piece = np.where(lines.journal == AN, "AN" + date_table[0][:4], lines.piece)
    columns = [
        codes[lines.journal].tolist(),
        journal_labels[lines.journal].tolist(),
        _entry_numbers(lines).astype(str).tolist(),
        day_list,
        account_numbers[lines.account].tolist(),
        account_labels[lines.account].tolist(),
        aux_numbers[lines.aux + 1].tolist(),
        aux_labels[lines.aux + 1].tolist(),
        piece.tolist(),
        day_list,
        lines.label.tolist(),
        *money,
        empty,
        empty,
        dates(np.minimum(month_ends, cutoff)),
        empty,
        empty,
    ]
    if client.sector.fec_layout in ("BA", "BNC"):
        settled = np.where(
            (lines.settled >= 0) & (lines.settled <= cutoff),
            lines.settled,
            np.where(lines.journal == BQ, lines.day, -1),
        )
        has_date = settled >= 0
        settled_text = np.where(has_date, date_table[np.clip(settled, first_day, cutoff) - first_day], "")
        columns += [settled_text.tolist(), np.where(has_date, "VIR", "").tolist(), empty]
    if client.sector.fec_layout == "BNC":
        is_client = lines.account == CLIENT_ACCOUNT
        columns.append(np.where(is_client, aux_numbers[lines.aux + 1], "").tolist())
    return columns


def _date_strings(first_day: int, last_day: int) -> np.ndarray:
    days = np.arange(first_day, max(first_day, last_day) + 1).astype("datetime64[D]")
    return np.array([text.replace("-", "") for text in np.datetime_as_string(days).tolist()], dtype=object)
