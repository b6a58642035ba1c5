"""The least of the same job, as a plain DuckDB script: read every FEC file, monthly revenue and month-end cash.

No supersession, no quarantine, no line numbers, no transcoding (lines DuckDB cannot decode are skipped), no
variants beyond what its sniffer handles: the floor Vigie's ingestion + dbt build is compared with.
"""

import sys
from pathlib import Path

import duckdb


def main(landing: Path) -> None:
    con = duckdb.connect()
    files = sorted(str(p) for p in (landing / "accounting").iterdir() if p.is_file())
    file_list = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    con.execute(f"""
        CREATE TABLE lines AS
        SELECT filename, "CompteNum" AS account, "EcritureDate" AS entry_date,
               coalesce(try_cast(replace("Debit", ',', '.') AS DECIMAL(18,2)), 0) AS debit,
               coalesce(try_cast(replace("Credit", ',', '.') AS DECIMAL(18,2)), 0) AS credit
        FROM read_csv({file_list}, all_varchar = true, union_by_name = true, filename = true, ignore_errors = true,
                      strict_mode = false)
    """)
    monthly = con.execute("""
        SELECT filename, substr(entry_date, 1, 6) AS month,
               sum(CASE WHEN account LIKE '70%' THEN credit - debit ELSE 0 END) AS revenue,
               sum(CASE WHEN account LIKE '512%' THEN debit - credit ELSE 0 END) AS cash_flow
        FROM lines GROUP BY ALL
    """).fetchall()
    lines = con.execute("SELECT count(*) FROM lines").fetchone()[0]
    print(f"plain duckdb: {lines} lines, {len(monthly)} file-months")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
