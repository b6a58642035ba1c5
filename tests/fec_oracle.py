"""A deliberately small FEC reader for tests, sharing no code with the pipeline or the generator.

It knows only what the sample-data generator writes: tab or pipe separator, UTF-8 with or without BOM or
ISO-8859-15, Debit/Credit or Montant/Sens (D/C, +1/-1), dates AAAAMMJJ, file names
`<SIREN>FEC<AAAAMMJJ>[_export-<AAAAMM>].txt`. Tests use it to recompute figures independently of the code
under test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FEC_NAME = re.compile(r"^(?P<siren>\d{9})FEC(?P<closing>\d{8})(?P<older>_export-\d{6})?\.txt$")


@dataclass
class FecLine:
    journal: str
    number: str
    day: str  # AAAAMMJJ
    account: str  # the first six characters of CompteNum
    aux: str
    label: str
    amount: int  # signed cents, debit > 0


def decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-15")


def cents(text: str) -> int:
    euros, _, decimals = text.partition(",")
    return int(euros) * 100 + int(decimals.ljust(2, "0"))


def read_fec(path: Path) -> tuple[list[str], list[FecLine]]:
    """The header's field names and every data line of one FEC file."""
    rows = decode(path.read_bytes()).splitlines()
    separator = "\t" if "\t" in rows[0] else "|"
    header = rows[0].split(separator)
    lines = []
    for row in rows[1:]:
        values = dict(zip(header, row.split(separator), strict=True))
        if "Montant" in values:
            signed = cents(values["Montant"]) * (1 if values["Sens"] in ("D", "+1") else -1)
        else:
            signed = cents(values["Debit"]) - cents(values["Credit"])
        lines.append(
            FecLine(
                values["JournalCode"],
                values["EcritureNum"],
                values["EcritureDate"],
                values["CompteNum"][:6],
                values["CompAuxNum"],
                values["EcritureLib"],
                signed,
            )
        )
    return header, lines
