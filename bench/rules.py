"""Benchmark of the rules engine: N clients x 36 months of indicators, the starter catalogue widened to 30 rules.

    python -m bench.rules [--clients 10000] [--out bench/out-rules]

Times Vigie's whole opportunity step (compile, evaluate, sentences, evidence, lifecycle, write) on a synthetic
marts.fct_indicators_monthly, beside the floor: the same compiled query run bare in DuckDB, nothing else.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb

from assets.opportunities import run_opportunities
from assets.opportunities.catalogue import load_catalogue, starter_catalogue_text
from assets.opportunities.compiler import compile_catalogue
from assets.opportunities.vocabulary import INDICATORS
from assets.opportunities.wording import WORDING_MACROS
from orchestration.dbt_project import DBT_PROJECT_DIR, seed_threshold_names

REFERENCE = date(2026, 10, 31)
# Variants of starter rules with other windows and levels: 14 starter + 16 = 30 rules.
VARIANTS = "\n".join(f"""
  - id: cash_falling_{n}m
    kind: trigger
    title: Trésorerie en baisse depuis {n} mois
    when:
      trend: {{indicator: cash_net, direction: falling, months: {n}}}
    trigger_text: "Trésorerie de {{cash_net}} ({{cash_net_change_{n}m}} sur {n} mois)."
  - id: low_margin_{n}
    kind: attention_point
    title: Marge faible
    when:
      count:
        months: {n}
        at_least: {max(1, n // 2)}
        where:
          compare: {{left: {{indicator: ebitda}}, op: "<", right: {{indicator: payroll, times: 0.{n}}}}}
    trigger_text: "EBE de {{ebitda}} en {{month}}."
""" for n in range(3, 11))


def build_warehouse(path: Path, clients: int) -> None:
    seeds = DBT_PROJECT_DIR / "seeds"
    columns = [c for c, i in INDICATORS.items() if i.per_month]
    values = ", ".join(f"cast(round((random() - 0.3) * 200000, 2) as decimal(18, 2)) as {c}" for c in columns)
    with duckdb.connect(str(path)) as con:
        for schema in ("marts", "reference"):
            con.execute(f"create schema {schema}")
        con.execute(f"create table reference.thresholds as select * from read_csv('{seeds / 'thresholds.csv'}', "
                    "types={'value': 'decimal(18,2)', 'valid_from': 'date', 'valid_to': 'date'})")
        con.execute(f"create table reference.account_mapping as select * from "
                    f"read_csv('{seeds / 'account_mapping.csv'}', all_varchar=true)")
        con.execute(f"""
            create table marts.fct_indicators_monthly as
            select lpad(cast(c as varchar), 9, '0') as client_id,
                   cast(date '2023-11-01' + to_months(cast(m as integer)) as date) as month,
                   {values}, 'accounting/' || c || '.txt' as source_file, 900 as source_line_count
            from range({clients}) as t(c), range(36) as s(m)""")
        con.execute("create table marts.dim_clients as select distinct client_id, client_id as siren, "
                    "'Client ' || client_id as name, '1' as collaborator_id, '1' as office_id "
                    "from marts.fct_indicators_monthly")
        con.execute("create table marts.fct_deals (deal_id varchar, client_id varchar, mission_code varchar, "
                    "status varchar)")


def peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out-rules"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    warehouse, missions = args.out / "vigie.duckdb", args.out / "missions.yml"
    build_warehouse(warehouse, args.clients)
    missions.write_text(starter_catalogue_text() + VARIANTS, encoding="utf-8")
    catalogue = load_catalogue(missions, seed_threshold_names())
    with duckdb.connect(str(warehouse)) as con:
        query = compile_catalogue(catalogue, REFERENCE)
        con.execute(WORDING_MACROS)  # the query writes the trigger sentences with them
        started = time.perf_counter()
        fired = len(con.execute(query.text, list(query.params)).fetchall())
        floor = time.perf_counter() - started
        started = time.perf_counter()
        report = run_opportunities(con, missions, REFERENCE, "fr")
        vigie = time.perf_counter() - started
        started = time.perf_counter()
        run_opportunities(con, missions, REFERENCE, "fr")
        rerun = time.perf_counter() - started
    print(f"{args.clients} clients x {len(catalogue.missions)} rules, {fired} rule matches")
    print(f"plain DuckDB (the compiled query alone): {floor:.2f} s")
    print(f"vigie opportunity step (first run):       {vigie:.2f} s  {report.summary()}")
    print(f"vigie opportunity step (next run):        {rerun:.2f} s")
    print(f"ratio whole step / compiled query:        {vigie / floor:.2f} (next run {rerun / floor:.2f})")
    print(f"peak RSS: {peak_mb()} MB")


if __name__ == "__main__":
    main()
