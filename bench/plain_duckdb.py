"""The least of the same job, as a plain DuckDB script: read every FEC file; monthly revenue, payroll and running
cash per client.

No supersession, no quarantine, no line numbers, no transcoding (lines DuckDB cannot decode are skipped), no
checks, no warehouse on disk: the floor Vigie's whole run is compared with.
"""

import sys
from pathlib import Path

import duckdb


def main(landing: Path) -> None:
    con = duckdb.connect()
    files = sorted(str(p) for p in (landing / "accounting").iterdir() if p.is_file())
    con.execute("""
        CREATE TABLE lines AS
        SELECT regexp_extract(filename, '([0-9]{9})FEC', 1) AS client_id, "CompteNum" AS account,
               "EcritureDate" AS entry_date,
               coalesce(try_cast(replace("Debit", ',', '.') AS DECIMAL(18,2)), 0) AS debit,
               coalesce(try_cast(replace("Credit", ',', '.') AS DECIMAL(18,2)), 0) AS credit
        FROM read_csv($files, all_varchar = true, union_by_name = true, filename = true, ignore_errors = true,
                      strict_mode = false)
    """, {"files": files})
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
    print(f"plain duckdb: {lines} lines, {len(monthly)} client-months")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
