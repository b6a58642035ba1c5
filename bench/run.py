"""Benchmark: generate a firm, run Vigie on it, run the plain DuckDB floor on the same files; print a table.

    python -m bench.run [--clients 1000] [--lines-per-client 10000] [--out bench/out]

Not run by CI (it takes minutes); `make bench` runs it and the figures go into the closing notes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def measured(command: list[str]) -> dict:
    output = subprocess.run([sys.executable, "-m", "bench.measure", *command], check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--lines-per-client", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--keep-landing", action="store_true",
                        help="reuse the landing/ of a previous bench in --out; start from an empty warehouse")
    args = parser.parse_args()
    vigie = str(BIN / "vigie")
    results = {}
    if args.keep_landing:
        for generated in ("warehouse", "publish", "audit", "config", ".dagster"):
            shutil.rmtree(args.out / generated, ignore_errors=True)
    else:
        shutil.rmtree(args.out, ignore_errors=True)
        results["generate"] = measured([vigie, "generate", "--out", str(args.out), "--clients", str(args.clients),
                                        "--lines-per-client", str(args.lines_per_client)])
    results |= {
        "vigie run (first)": measured([vigie, "run", "--home", str(args.out)]),
        "vigie run (unchanged input)": measured([vigie, "run", "--home", str(args.out)]),
        "plain duckdb script": measured([sys.executable, "-m", "bench.plain_duckdb", str(args.out / "landing")]),
    }
    print(f"{args.clients} clients x {args.lines_per_client} lines")
    print(f"{'step':<30} {'seconds':>9} {'peak MB':>9} {'exit':>5}")
    for step, figures in results.items():
        print(f"{step:<30} {figures['seconds']:>9} {figures['peak_rss_mb']:>9} {figures['exit_code']:>5}")


if __name__ == "__main__":
    main()
