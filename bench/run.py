"""Benchmark: generate firms of several sizes, run Vigie on each as a user would, beside the plain DuckDB floor.

    python -m bench.run [--sizes small,10m] [--out bench/out] [--keep-landing] [--repeat 3] [--skip-rules]

For each size: a first run, an unchanged rerun, a rerun after one ledger is re-exported, a rerun after every
ledger of a fiscal year still open is re-exported (the firm's monthly re-export), and the plain script
(bench/plain_duckdb.py) on the same files in the same session. The machines these run on are shared and vary by
tens of percent from one minute to the next, so every ratio is a median of `--repeat` pairs measured one right
after the other: the plain script then a first run (from an empty warehouse each time, on the same files), and an
unchanged rerun then a rerun after one ledger is re-exported. Each run is broken into its
pipeline stages (from the run's own Dagster event log) with the wall time and the peak memory of the process tree
during the stage. Each run also gives its CPU time (user + system, every process of the run), and the first-run
ratio is given in CPU time too: the work done, which the machine's other tenants change far less than the wall time.
Then the rules engine alone on 10 000 clients (bench/rules.py). Not run by CI (it takes minutes): `make bench`
runs it and the figures go into the closing notes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bench.measure import Measurement, measure

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Size:
    clients: int
    lines_per_client: int
    keep_ledgers: int | None = None  # keep only this many FEC files (the three-file home)


SIZES = {
    "small": Size(clients=3, lines_per_client=3_000, keep_ledgers=3),
    "1m": Size(clients=100, lines_per_client=10_000),
    "10m": Size(clients=1_000, lines_per_client=10_000),
    "2000-clients": Size(clients=2_000, lines_per_client=2_500),
    "100m": Size(clients=10_000, lines_per_client=10_000),
}
# Dagster step -> stage of the table (several steps may make one stage)
STAGES = {
    "ingest_accounting": "ingest accounting", "ingest_crm": "ingest crm", "ingest_practice": "ingest practice",
    "ingest_timetracking": "ingest timetracking", "ingest_ledger": "ingest ledger",
    "vigie_dbt_models": "dbt (models, tests)", "evaluate_missions": "rules", "vigie_dbt_outputs": "dbt (outputs)",
    "publish_marts": "publish",
}


def stage_of(step: str) -> str:
    if step.startswith("summaries__"):
        return "summaries"
    if "_gx_" in step:
        return "quality checks (GX)"
    return STAGES.get(step, step)


def stages(home: Path, run: Measurement) -> list[tuple[str, float, int]]:
    """(stage, seconds, peak MB) of the run just measured, in order; start-up and shutdown included."""
    runs = sorted((home / ".dagster" / "history" / "runs").glob("*-*.db"), key=lambda p: p.stat().st_mtime)
    with sqlite3.connect(runs[-1]) as db:
        events = db.execute("SELECT step_key, dagster_event_type, timestamp FROM event_logs WHERE dagster_event_type"
                            " IN ('STEP_START', 'STEP_SUCCESS', 'STEP_FAILURE', 'PIPELINE_START', 'PIPELINE_SUCCESS',"
                            " 'PIPELINE_FAILURE') ORDER BY id").fetchall()
    times = [(step, kind, datetime.fromisoformat(str(at)).timestamp()) for step, kind, at in events]
    table: dict[str, list[float]] = {}
    started: dict[str, float] = {}
    for step, kind, at in times:
        if kind == "STEP_START":
            started[step] = at
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and step in started:
            span = table.setdefault(stage_of(step), [0.0, 0.0])
            span[0] += at - started[step]
            span[1] = max(span[1], run.peak_between(started[step], at))
    pipeline = [at for _, kind, at in times if kind.startswith("PIPELINE")]
    end = run.started_at + run.seconds
    rows = [("start-up (imports, dbt parse, Dagster)", pipeline[0] - run.started_at,
             run.peak_between(run.started_at, pipeline[0]))]
    rows += [(name, seconds, round(peak)) for name, (seconds, peak) in table.items()]
    rows.append(("shutdown (problems, exit)", end - pipeline[-1], run.peak_between(pipeline[-1], end)))
    return rows


def generate(out: Path, size: Size) -> None:
    subprocess.run([str(BIN / "vigie"), "generate", "--out", str(out), "--clients", str(size.clients),
                    "--lines-per-client", str(size.lines_per_client)], check=True, stdout=subprocess.DEVNULL)
    if size.keep_ledgers:
        ledgers = sorted((out / "landing" / "accounting").iterdir())
        for extra in ledgers[size.keep_ledgers:]:
            extra.unlink()


def reexport(ledger: Path) -> None:
    """A ledger exported again: the same entries with one amount changed, written later."""
    raw = ledger.read_bytes()
    position = raw.rfind(b",00")
    ledger.write_bytes(raw[:position] + b",01" + raw[position + 3:] if position > 0 else raw + b"\n")
    later = ledger.stat().st_mtime + 60
    os.utime(ledger, (later, later))


def reexport_one_ledger(landing: Path) -> str:
    ledger = sorted((landing / "accounting").iterdir())[-1]
    reexport(ledger)
    return ledger.name


def reexport_current_year(landing: Path, today: date) -> int:
    """Every ledger of a fiscal year still open (closing date, from the file name, today or later) exported again,
    as firms do each month."""
    open_years = [p for p in (landing / "accounting").iterdir()
                  if (closing := re.search(r"FEC(\d{8})", p.name)) and closing.group(1) >= f"{today:%Y%m%d}"]
    for ledger in open_years:
        reexport(ledger)
    return len(open_years)


def vigie_run(home: Path) -> Measurement:
    return measure([str(BIN / "vigie"), "run", "--home", str(home)])


def lower_median(items: list, key=lambda item: item):
    """The middle item (the lower middle one for an even count): a run that happened, never an average of two."""
    return sorted(items, key=key)[(len(items) - 1) // 2]


def median_run(runs: list[Measurement]) -> Measurement:
    return lower_median(runs, key=lambda m: m.seconds)


def forget_runs(home: Path) -> None:
    """Remove what runs wrote in the home (warehouse, published tables, history...): its landing/ stays."""
    for generated in ("warehouse", "publish", "audit", "config", ".dagster"):
        shutil.rmtree(home / generated, ignore_errors=True)


def bench_size(name: str, size: Size, out: Path, keep_landing: bool, repeat: int) -> dict:
    home = out / name
    if keep_landing and (home / "landing").is_dir():
        forget_runs(home)
    else:
        shutil.rmtree(home, ignore_errors=True)
        generate(home, size)
    lines = sum(max(0, p.read_bytes().count(b"\n") - 1) for p in (home / "landing" / "accounting").iterdir())
    firsts = []  # (plain script, first run just after it, the run's stages)
    for attempt in range(repeat):
        if attempt:
            forget_runs(home)  # the firm's first morning again, on the same files
        plain = measure([sys.executable, "-m", "bench.plain_duckdb", str(home / "landing")])
        first = vigie_run(home)
        firsts.append((plain, first, stages(home, first)))
    _, first, first_stages = lower_median(firsts, key=lambda attempt: attempt[1].seconds)
    plains = [plain for plain, _, _ in firsts]
    pairs = []  # (unchanged rerun, one ledger re-exported just after it)
    unchanged_stages = []  # of the first unchanged rerun
    for _ in range(repeat):
        unchanged = vigie_run(home)
        unchanged_stages = unchanged_stages or stages(home, unchanged)
        reexport_one_ledger(home / "landing")
        pairs.append((unchanged, vigie_run(home)))
    reexported = reexport_current_year(home / "landing", date.today())
    open_years = vigie_run(home)
    return {"name": name, "lines": lines, "files": len(list((home / "landing" / "accounting").iterdir())),
            "first": first, "stages": first_stages, "firsts": [(plain, run) for plain, run, _ in firsts],
            "unchanged": median_run([u for u, _ in pairs]),
            "unchanged_stages": unchanged_stages, "one_file": median_run([r for _, r in pairs]), "pairs": pairs,
            "open_years": open_years, "reexported": reexported, "plain": median_run(plains), "plains": plains}


def print_size(result: dict) -> None:
    first, unchanged, one_file, plain = (result[k] for k in ("first", "unchanged", "one_file", "plain"))
    print(f"\n== {result['name']}: {result['lines']:,} FEC lines in {result['files']} files ==")
    print(f"{'stage':<42} {'first run':>10} {'peak MB':>8} {'unchanged':>10} {'peak MB':>8}")
    again = {stage: (seconds, peak) for stage, seconds, peak in result["unchanged_stages"]}
    for stage, seconds, peak in result["stages"]:
        seconds_again, peak_again = again.get(stage, (0.0, 0))
        print(f"{stage:<42} {seconds:>10.1f} {peak:>8} {seconds_again:>10.1f} {peak_again:>8}")
    print(f"{'run':<52} {'seconds':>8} {'CPU s':>8} {'peak MB':>8} {'exit':>5}")
    open_years = f"{result['reexported']} open-year ledgers re-exported"
    repeat = len(result["pairs"])
    for label, m in ((f"vigie run, first (median of {repeat})", first),
                     (f"vigie run, unchanged input (median of {repeat})", unchanged),
                     (f"vigie run, one ledger re-exported (median of {repeat})", one_file),
                     (f"vigie run, {open_years}", result["open_years"]),
                     (f"plain DuckDB script, same files (median of {repeat})", plain)):
        print(f"{label:<52} {m.seconds:>8.1f} {m.cpu_seconds:>8.1f} {m.peak_mb:>8} {m.exit_code:>5}")
    first_ratios = [run.seconds / plain.seconds for plain, run in result["firsts"]]
    print("first runs (plain script, first, ratio):  ",
          "; ".join(f"{plain.seconds:.1f}, {run.seconds:.1f}, {ratio:.2f}"
                    for (plain, run), ratio in zip(result["firsts"], first_ratios, strict=True)))
    ratios = [again.seconds / before.seconds for before, again in result["pairs"]]
    print("pairs (unchanged, re-exported, ratio):    ",
          "; ".join(f"{before.seconds:.1f}, {again.seconds:.1f}, {ratio:.2f}"
                    for (before, again), ratio in zip(result["pairs"], ratios, strict=True)))
    print(f"ratio first run / plain script:            {lower_median(first_ratios):6.2f} (median pair)")
    # the same pairs in CPU time (all processes, user + system): the work each does, steadier than the wall time on
    # a shared machine
    cpu_ratios = [run.cpu_seconds / plain.cpu_seconds for plain, run in result["firsts"] if plain.cpu_seconds]
    if cpu_ratios:
        print(f"ratio first run / plain script, CPU time:  {lower_median(cpu_ratios):6.2f} (median pair)")
    print(f"ratio unchanged rerun / first run:         {unchanged.seconds / first.seconds:6.2f}")
    print(f"ratio one re-exported / unchanged rerun:   {lower_median(ratios):6.2f} (median pair)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="small,10m", help=f"comma-separated, of: {', '.join(SIZES)}")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--keep-landing", action="store_true",
                        help="reuse each size's landing/ from a previous bench; start from an empty warehouse")
    parser.add_argument("--skip-rules", action="store_true", help="do not run the rules engine benchmark")
    parser.add_argument("--repeat", type=int, default=3,
                        help="plain-script/first-run and unchanged/re-export pairs per size (medians are reported)")
    args = parser.parse_args()
    results = [bench_size(name, SIZES[name], args.out, args.keep_landing, max(1, args.repeat))
               for name in args.sizes.split(",")]
    for result in results:
        print_size(result)
    by_name = {r["name"]: r for r in results}
    if "small" in by_name and "10m" in by_name:
        ratio = by_name["small"]["first"].seconds / by_name["10m"]["plain"].seconds
        print(f"\nratio three-file home run / plain script on 10 M lines: {ratio:6.2f}")
    if "10m" in by_name and "100m" in by_name:
        print(f"ratio 100 M run / 10 M run: {by_name['100m']['first'].seconds / by_name['10m']['first'].seconds:6.2f}")
    if not args.skip_rules:
        print("\n== rules engine, 10 000 clients x 30 rules ==", flush=True)
        subprocess.run([sys.executable, "-m", "bench.rules"], check=True)


if __name__ == "__main__":
    main()
