"""The least of the same job, as a plain DuckDB script: read every FEC file; monthly revenue, payroll and running
cash per client.

As fast as DuckDB goes: files grouped by header, one `read_csv` per group with the columns given (no sniffing),
files that are not UTF-8 transcoded once in Python. No supersession, no quarantine, no line numbers, no checks,
no warehouse on disk: the floor Vigie's whole run is compared with.
"""

import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import duckdb

DEBIT_CREDIT = ("coalesce(try_cast(replace(debit, ',', '.') AS DECIMAL(18,2)), 0) AS debit,"
                " coalesce(try_cast(replace(credit, ',', '.') AS DECIMAL(18,2)), 0) AS credit")
MONTANT_SENS = ("CASE WHEN upper(sens) IN ('D', '+1', '1') THEN coalesce(try_cast(replace(montant, ',', '.')"
                " AS DECIMAL(18,2)), 0) ELSE 0 END AS debit, CASE WHEN upper(sens) IN ('C', '-1') THEN"
                " coalesce(try_cast(replace(montant, ',', '.') AS DECIMAL(18,2)), 0) ELSE 0 END AS credit")


def readable_files(landing: Path, scratch: Path) -> dict[tuple[str, bytes], list[str]]:
    """(separator, header) -> UTF-8 files with that header (others transcoded into `scratch`)."""
    groups: dict[tuple[str, bytes], list[str]] = defaultdict(list)
    for path in sorted((landing / "accounting").iterdir()):
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            path = scratch / path.name
            path.write_text(raw.decode("cp1252", errors="replace"), encoding="utf-8")
        header = raw.split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
        groups[("\t" if b"\t" in header else "|", header)].append(str(path))
    return groups


def read_group(separator: str, header: bytes, files: list[str]) -> str:
    names = [n.decode("latin-1").strip().lower() or f"extra{i}" for i, n in enumerate(header.split(separator.encode()))]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    amounts = DEBIT_CREDIT if "debit" in names else MONTANT_SENS
    return (f"SELECT regexp_extract(filename, '([0-9]{{9}})FEC', 1) AS client_id, comptenum AS account,"
            f" ecrituredate AS entry_date, {amounts}"
            f" FROM read_csv({files!r}, delim={separator!r}, header = true, auto_detect = false, columns = {columns},"
            " filename = true, ignore_errors = true, strict_mode = false, quote = '')")


def main(landing: Path) -> None:
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as scratch:
        groups = readable_files(landing, Path(scratch))
        con.execute("CREATE TABLE lines AS " + " UNION ALL ".join(
            read_group(separator, header, files) for (separator, header), files in groups.items()))
    monthly = con.execute("""
        WITH months AS (
            SELECT client_id, substr(replace(entry_date, '-', ''), 1, 6) AS month,
                   sum(CASE WHEN account LIKE '70%' THEN credit - debit ELSE 0 END) AS revenue,
                   sum(CASE WHEN account LIKE '641%' OR account LIKE '645%' THEN debit - credit ELSE 0 END) AS payroll,
                   sum(CASE WHEN account LIKE '512%' THEN debit - credit ELSE 0 END) AS cash_flow
            FROM lines GROUP BY ALL
        )
        SELECT *, sum(cash_flow) OVER (PARTITION BY client_id ORDER BY month) AS cash FROM months
    """).fetchall()
    lines = con.execute("SELECT count(*) FROM lines").fetchone()[0]
    print(f"plain duckdb: {lines} lines in {len(groups)} layouts, {len(monthly)} client-months")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
