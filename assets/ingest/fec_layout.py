"""What a FEC file says about itself: its header (separator, which column is which) and its name.

The header is matched leniently because real exports misspell it (`EcrtureLet`, `IdDevise`) and change its
case; the name follows `<SIREN>FEC<AAAAMMJJ>` (LPF art. A47 A-1) with any prefix, suffix or extension.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from assets.ingest.registry import FileRejected

# raw.fec_lines column -> official field name: mandatory 18, cash-basis extras, the Montant/Sens variant.
FEC_FIELDS = {
    "journal_code": "JournalCode",
    "journal_lib": "JournalLib",
    "ecriture_num": "EcritureNum",
    "ecriture_date": "EcritureDate",
    "compte_num": "CompteNum",
    "compte_lib": "CompteLib",
    "comp_aux_num": "CompAuxNum",
    "comp_aux_lib": "CompAuxLib",
    "piece_ref": "PieceRef",
    "piece_date": "PieceDate",
    "ecriture_lib": "EcritureLib",
    "debit": "Debit",
    "credit": "Credit",
    "ecriture_let": "EcritureLet",
    "date_let": "DateLet",
    "valid_date": "ValidDate",
    "montant_devise": "Montantdevise",
    "idevise": "Idevise",
    "date_rglt": "DateRglt",
    "mode_rglt": "ModeRglt",
    "nat_op": "NatOp",
    "id_client": "IdClient",
    "montant": "Montant",
    "sens": "Sens",
}
MANDATORY_FIELDS = tuple(FEC_FIELDS)[:18]
AMOUNT_LAYOUTS = {"debit_credit": ("debit", "credit"), "montant_sens": ("montant", "sens")}
KEY_FIELDS = ("journal_code", "ecriture_date", "compte_num")
# Labels that may hold a stray separator, in the order a line with too many fields tries them (domain.md §1).
REPAIRABLE_LABELS = ("ecriture_lib", "compte_lib", "comp_aux_lib", "journal_lib", "piece_ref")
SEPARATORS = {"\t": "tab", "|": "pipe", ";": "semicolon"}
LEGAL_SEPARATORS = ("\t", "|")
NAME_SIMILARITY = 0.85  # `EcrtureLet`/`EcritureLet` is 0.95, `DateLet`/`DateRglt` is 0.8
_CANONICAL = {re.sub(r"[^a-z0-9]", "", name.lower()): column for column, name in FEC_FIELDS.items()}


def normalise_field_name(name: str) -> str:
    """Lower case without accents or punctuation: `Montant Devise` and `MontantDevise` are the same."""
    decomposed = unicodedata.normalize("NFKD", name.strip().lstrip("\ufeff"))
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in decomposed if not unicodedata.combining(c)).lower())


@dataclass(frozen=True)
class FecLayout:
    separator: str
    positions: dict[str, int]  # raw.fec_lines column -> 1-based field position
    field_count: int  # named fields of the header (a trailing separator adds none)
    header_names: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def amount_layout(self) -> str:
        has_debit_credit = all(c in self.positions for c in AMOUNT_LAYOUTS["debit_credit"])
        return "debit_credit" if has_debit_credit else "montant_sens"

    @property
    def required_fields(self) -> tuple[str, ...]:
        return KEY_FIELDS + AMOUNT_LAYOUTS[self.amount_layout]

    @property
    def min_field_count(self) -> int:
        """A line with fewer fields lacks a field it cannot do without."""
        return max(self.positions[c] for c in self.required_fields)

    @property
    def regime(self) -> str:
        if "id_client" in self.positions:
            return "bnc"
        return "ba" if {"date_rglt", "mode_rglt", "nat_op"} <= self.positions.keys() else "standard"

    @property
    def extra_columns(self) -> list[str]:
        known = set(self.positions.values())
        return [name for index, name in enumerate(self.header_names, start=1) if index not in known and name]


@lru_cache(maxsize=1024)  # a firm's 3 000 ledgers come from a few accounting packages: a few dozen headers
def read_header(line: str) -> FecLayout:
    """Recognise the header line; raise FileRejected when it is not a FEC header in any separator. The layout is
    shared between the files that have this header: never changed after it is made."""
    layouts = [_layout_for(line, separator) for separator in SEPARATORS]
    usable = [layout for layout in layouts if _has_required_fields(layout)]
    if not usable:
        raise FileRejected("no FEC header: the first line must name JournalCode, EcritureDate, CompteNum and "
                           "either Debit and Credit or Montant and Sens, separated by tabs or '|' "
                           f"(found {line[:120]!r})")
    return max(usable, key=lambda layout: len(layout.positions))


def _has_required_fields(layout: FecLayout) -> bool:
    return set(KEY_FIELDS) <= layout.positions.keys() and any(
        set(fields) <= layout.positions.keys() for fields in AMOUNT_LAYOUTS.values())


def _layout_for(line: str, separator: str) -> FecLayout:
    names = [name.strip().strip('"').lstrip("\ufeff").strip() for name in line.split(separator)]
    while names and not names[-1]:
        names.pop()  # a trailing separator ends the header without naming a column
    positions, warnings = _match_names(names)
    if separator not in LEGAL_SEPARATORS:
        warnings.append(f"the separator is a {SEPARATORS[separator]}, which the FEC format does not allow "
                        "(tab or '|'); read anyway")
    missing = [FEC_FIELDS[c] for c in MANDATORY_FIELDS if c not in positions
               and c not in AMOUNT_LAYOUTS["debit_credit"]]
    if missing:
        warnings.append(f"the header lacks the mandatory field(s) {', '.join(missing)}; read as empty")
    return FecLayout(separator, positions, len(names), tuple(names), tuple(warnings))


def _match_names(names: list[str]) -> tuple[dict[str, int], list[str]]:
    """Exact matches (ignoring case and punctuation) first, then close misspellings of the fields left."""
    positions: dict[str, int] = {}
    unmatched: list[tuple[int, str]] = []
    for index, name in enumerate(names, start=1):
        column = _CANONICAL.get(normalise_field_name(name))
        if column and column not in positions:
            positions[column] = index
        else:
            unmatched.append((index, name))
    warnings = []
    for index, name in unmatched:
        free = [key for key, column in _CANONICAL.items() if column not in positions]
        close = difflib.get_close_matches(normalise_field_name(name), free, n=1, cutoff=NAME_SIMILARITY)
        if close:
            column = _CANONICAL[close[0]]
            positions[column] = index
            warnings.append(f"header field {name!r} read as {FEC_FIELDS[column]}")
    return positions, warnings


@dataclass
class FecFileName:
    siren: str | None  # None: not in the name, to be found in the content or the folder (see fec.py)
    closing_date: date | None  # None: to be derived from the entries
    warnings: list[str] = field(default_factory=list)


_NAME_PATTERN = re.compile(r"(?<!\d)(\d*)FEC(\d{8})?(?!\d)", re.IGNORECASE)
# Header names of an extra column that holds the company's SIREN or SIRET (`Siren`, `SIRET`, `NumSiren`...).
_SIREN_COLUMN = re.compile(r"siren|siret")
# A date in a file name, year first or last (`2025`, `2025-01`, `202501`, `20250131`, `01-2025`, `31.01.2025`):
# the part of a monthly re-export's name that changes each month. Other digits (a client code) are kept, and so
# is a number before a year with only a space between (`dossier 12 2025`).
_MONTH, _DAY = r"(?:0?[1-9]|1[0-2])", r"(?:0?[1-9]|[12]\d|3[01])"
_DATE_IN_NAME = re.compile(
    rf"(?<!\d)(?:(?:19|20)\d\d(?:[-_. ]?{_MONTH}(?:[-_. ]?{_DAY})?)?"
    rf"|(?:{_DAY}[-_.]?)?{_MONTH}[-_.]?(?:19|20)\d\d)(?!\d)")
_MONTH_WORDS = frozenset((
    "janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre",
    "decembre", "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "janv", "fevr", "avr", "juil", "sept", "oct", "nov", "dec", "jan", "feb",
    "fev", "mar", "apr", "jun", "jul", "aug", "sep"))


def parse_file_name(name: str) -> FecFileName:
    """SIREN and closing date from `<SIREN>FEC<AAAAMMJJ>`; what is missing is None (a SIREN may also be any
    9-digit run of the name, or a SIRET's first 9 digits, with a warning)."""
    match = _NAME_PATTERN.search(name)
    siren_text, date_text = (match.group(1), match.group(2)) if match else ("", None)
    warnings: list[str] = []
    siren = siren_text or _siren_from_digits(name, date_text, warnings)
    if siren_text and len(siren_text) != 9:
        warnings.append(f"the SIREN {siren_text} in the file name has {len(siren_text)} digits instead of 9; "
                        "kept as is")
    closing = _closing_date(date_text, warnings)
    return FecFileName(siren, closing, warnings)


def _siren_from_digits(name: str, date_text: str | None, warnings: list[str]) -> str | None:
    runs = [run for run in re.findall(r"\d+", name) if run != date_text]
    sirens = [run for run in runs if len(run) == 9] + [run[:9] for run in runs if len(run) == 14]  # SIRET
    if sirens:
        warnings.append(f"the file name does not start with <SIREN>FEC; used {sirens[0]} from it as SIREN")
        return sirens[0]
    return None


def siren_of(text: str | None) -> str | None:
    """The SIREN a value holds: 9 digits, or a SIRET's first 9 (spaces and dots ignored); else None."""
    digits = re.sub(r"[ .]", "", (text or "").strip())
    if re.fullmatch(r"\d{9}|\d{14}", digits):
        return digits[:9]
    return None


def siren_from_folder(folder_name: str) -> str | None:
    """The SIREN in a folder name (`552100554`, `552100554 - Dupont SARL`): one 9-digit run, or a SIRET."""
    runs = [run for run in re.findall(r"\d+", folder_name) if len(run) in (9, 14)]
    return runs[0][:9] if len(runs) == 1 else None


def siren_position(layout: FecLayout) -> tuple[int, str] | None:
    """The 1-based position and name of an extra header column holding the company's SIREN or SIRET."""
    known = set(layout.positions.values())
    for index, name in enumerate(layout.header_names, start=1):
        if index not in known and _SIREN_COLUMN.search(normalise_field_name(name)):
            return index, name
    return None


def pseudo_client_id(file_path: str) -> str:
    """A made-up SIREN for a file with none anywhere, stable across its monthly re-exports: a hash of its folder
    and of its name without dates or month names, so `grand-livre_2025-01.txt` and `grand-livre_2025-02.txt`
    in the same folder belong to the same client (and `dossier 12.txt` and `dossier 47.txt` to two)."""
    folder, _, name = file_path.rpartition("/")
    decomposed = unicodedata.normalize("NFKD", name)
    plain = _DATE_IN_NAME.sub(" ", "".join(c for c in decomposed if not unicodedata.combining(c)).lower())
    words = [word for word in re.findall(r"[a-z0-9]+", plain) if word not in _MONTH_WORDS]
    digest = hashlib.sha256(f"{folder}/{'-'.join(words)}".encode()).hexdigest()
    return f"UNKNOWN-{digest[:8]}"


def _closing_date(date_text: str | None, warnings: list[str]) -> date | None:
    if date_text is None:
        return None
    try:
        return date(int(date_text[:4]), int(date_text[4:6]), int(date_text[6:]))
    except ValueError:
        warnings.append(f"the closing date {date_text} in the file name is not a valid date")
        return None
