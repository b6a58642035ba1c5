"""`vigie`: the command line of contract §3 (demo, run, generate, ui, docs, explain)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from datetime import date
from pathlib import Path

from assets.home import VigieHome
from assets.opportunities.catalogue import CatalogueError, ensure_catalogue_file, load_catalogue
from assets.run_lock import HomeBusy, hold_home
from assets.settings import SettingsError, ensure_settings_file, load_settings
from orchestration.dbt_project import seed_threshold_names, start_parse, stop_parse
from orchestration.process_exit import exit_without_teardown

log = logging.getLogger("vigie")

EXIT_OK, EXIT_FAILED, EXIT_INPUT_PROBLEMS = 0, 1, 2


def console_main() -> None:
    """The `vigie` command: `main`, then the end of the process without tearing the interpreter down
    (orchestration/process_exit.py). `main` stays an ordinary function for in-process callers."""
    exit_without_teardown(main())


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return args.command(args)
    except (SettingsError, CatalogueError, UserFacingError, FileExistsError, HomeBusy) as error:
        print(f"vigie: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("vigie: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `vigie explain ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


class UserFacingError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigie", description="Vigie: the accounting firm's morning pipeline.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logs")
    commands = parser.add_subparsers(required=True, metavar="command")

    demo = commands.add_parser("demo", help="write the sample data set into an empty home and run the pipeline")
    _home_option(demo)
    demo.set_defaults(command=cmd_demo)

    run = commands.add_parser("run", help="run the pipeline on what is in landing/")
    _home_option(run)
    run.add_argument("--select", help="Dagster asset selection, e.g. 'key:raw/*' or 'group:marts'")
    run.add_argument("--as-of", type=_iso_date, help="reference date YYYY-MM-DD (default: settings.yml, then today)")
    run.add_argument("--full-refresh", action="store_true",
                     help="build every dbt model again from the raw layer, even when nothing it reads has changed")
    run.add_argument("--refresh-summaries", action="store_true",
                     help="write every client summary again, even when its facts have not changed")
    run.add_argument("--wait", action="store_true",
                     help="when another run holds the home, wait for it to end instead of refusing at once")
    run.set_defaults(command=cmd_run)

    generate = commands.add_parser("generate", help="write a synthetic landing/ of any size")
    generate.add_argument("--out", required=True, type=Path, help="directory to write; DIR/landing/ is created")
    generate.add_argument("--clients", type=int, default=40)
    generate.add_argument("--lines-per-client", type=int, default=None)
    generate.add_argument("--months", type=int, default=36)
    generate.add_argument("--seed", type=int, default=42)
    generate.set_defaults(command=cmd_generate)

    ui = commands.add_parser("ui", help="start the Dagster UI and daemon (schedule, sensor) on the home's instance")
    _home_option(ui)
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(command=cmd_ui)

    serve = commands.add_parser("serve", help="run the Dagster webserver and daemon for the home as a service "
                                              "(what a systemd unit starts)")
    _home_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address the webserver listens on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(command=cmd_serve)

    explain = commands.add_parser("explain", help="show the ledger lines behind a proposed mission or a published "
                                                  "figure")
    _home_option(explain)
    explain.add_argument("opportunity_id", nargs="?", help="an id of fct_opportunities")
    explain.add_argument("--client", help="client_id (the SIREN for a company with a ledger)")
    explain.add_argument("--month", type=_year_month, help="month YYYY-MM")
    explain.add_argument("--indicator", help="a column of fct_indicators_monthly, e.g. revenue, or a component")
    explain.add_argument("--json", action="store_true", help="print JSON instead of text")
    explain.set_defaults(command=cmd_explain)

    docs = commands.add_parser("docs", help="write the dbt documentation as static HTML")
    _home_option(docs)
    docs.set_defaults(command=cmd_docs)
    return parser


def _home_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="Vigie home directory (default: $VIGIE_HOME, then ./vigie_home)")


def _year_month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month YYYY-MM, got {text!r}") from None


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    vigie_logger = logging.getLogger("vigie")
    vigie_logger.handlers[:] = [handler]
    vigie_logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    vigie_logger.propagate = False
    # Dagster, dbt and GX write their details to the run log and the Dagster instance, not the terminal.
    for noisy in ("dagster", "dagster.builtin", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def cmd_generate(args) -> int:
    from assets.generate import generate_landing

    report = generate_landing(args.out, clients=args.clients, lines_per_client=args.lines_per_client,
                              months=args.months, seed=args.seed)
    print(f"wrote {report.summary()} to {args.out.resolve() / 'landing'}")
    return EXIT_OK


def cmd_run(args) -> int:
    home = VigieHome.resolve(args.home)
    if not home.landing.is_dir():
        raise UserFacingError(f"{home.landing}: no landing/ directory; put the firm's exports there "
                              "(or run `vigie generate --out {home.root}`)")
    return _run_and_report(home, as_of=args.as_of, select=args.select, full_refresh=args.full_refresh,
                           refresh_summaries=args.refresh_summaries, wait=args.wait)


def cmd_demo(args) -> int:
    from assets.generate import generate_landing

    home = VigieHome.resolve(args.home)
    has_input = home.landing.is_dir() and any(p.is_file() for p in home.landing.rglob("*"))
    as_of = None
    if has_input:
        log.info("%s already holds input; running on it", home.landing)
    else:
        report = generate_landing(home.root)
        log.info("wrote the sample firm (%s) to %s", report.summary(), home.landing)
        as_of = report.as_of
    code = _run_and_report(home, as_of=as_of)
    if code != EXIT_FAILED:
        _print_demo_tour(home)
    return code


def check_configuration(home: VigieHome) -> None:
    """Create the firm's configuration files when missing, then refuse a broken one (SettingsError or
    CatalogueError, one line naming file and line) before the run starts."""
    home.ensure()
    ensure_settings_file(home.settings_file)
    load_settings(home.settings_file)
    ensure_catalogue_file(home.missions_file)
    load_catalogue(home.missions_file, seed_threshold_names())


def _run_and_report(home: VigieHome, *, as_of: date | None, select: str | None = None, full_refresh: bool = False,
                    refresh_summaries: bool = False, wait: bool = False) -> int:
    check_configuration(home)  # a broken catalogue or settings file stops here, before anything is evaluated
    parse = start_parse(home, as_of)  # dbt parses the project while this process starts Dagster
    try:
        from orchestration.runner import run_pipeline

        log.info("running the pipeline on %s", home.root)
        outcome = run_pipeline(home, as_of=as_of, select=select, full_refresh=full_refresh,
                               refresh_summaries=refresh_summaries, wait=wait)
    finally:
        stop_parse(parse)
    for problem in outcome.problems:
        print(f"vigie: {problem}", file=sys.stderr)
    if not outcome.success:
        print(f"vigie: run {outcome.run_id} failed: {outcome.failure} (details: {outcome.log_file})",
              file=sys.stderr)
    elif outcome.problems:
        print(f"vigie: run {outcome.run_id} completed; {len(outcome.problems)} input problem(s) listed in "
              "ingest_files, ingest_rejections and rpt_data_quality", file=sys.stderr)
    else:
        log.info("run %s completed; marts in %s", outcome.run_id, home.marts_db)
    return outcome.exit_code


def _print_demo_tour(home: VigieHome) -> None:
    import duckdb

    with duckdb.connect(str(home.marts_db), read_only=True) as con:
        tables = con.execute("SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY table_name").fetchall()
        opportunities = con.execute(
            "SELECT client_id, mission_title, trigger_text FROM fct_opportunities WHERE status = 'open'"
            " ORDER BY client_id, rule_id LIMIT 20").fetchall()
    print(f"\nMarts for BI tools: {home.marts_db}\nParquet files:      {home.parquet}/")
    print("Tables: " + ", ".join(f"{name} ({rows})" for name, rows in tables))
    if opportunities:
        print("\nDetected opportunities:")
        for client_id, title, text in opportunities:
            print(f"  {client_id:<12} {title:<45} {text}")
    else:
        print("\nDetected opportunities: none yet (the rules engine publishes fct_opportunities).")
    print(f"\nNext: `vigie ui --home {home.root}` shows the lineage and the run history.")


def cmd_ui(args) -> int:
    """`dagster dev`: webserver and daemon in one command, for a person at the keyboard."""
    _prepare_service(args)
    # supervised, so a SIGTERM to `vigie ui` ends the webserver and the daemon too, and frees the port
    return _supervise([subprocess.Popen([_dagster_script("dagster"), "dev", "-m", DEFINITIONS_MODULE,
                                         "-h", "127.0.0.1", "-p", str(args.port)])])


def cmd_serve(args) -> int:
    """The webserver and the daemon as two processes, ended together: what a service manager runs."""
    home = _prepare_service(args)
    workspace = ["-m", DEFINITIONS_MODULE]
    processes = [
        subprocess.Popen([_dagster_script("dagster-daemon"), "run", *workspace]),
        subprocess.Popen([_dagster_script("dagster-webserver"), *workspace, "-h", args.host, "-p", str(args.port)]),
    ]
    log.info("serving %s: webserver on http://%s:%s, daemon pid %d", home.root, args.host, args.port,
             processes[0].pid)
    return _supervise(processes)


DEFINITIONS_MODULE = "orchestration.definitions"


def _prepare_service(args) -> VigieHome:
    import dagster as dg

    from orchestration.dbt_project import prepare_manifest
    from orchestration.run_guard import reap_dead_runs
    from orchestration.runner import activate_home

    home = VigieHome.resolve(args.home)
    check_configuration(home)
    activate_home(home)  # the code server and the daemon inherit VIGIE_HOME and DAGSTER_HOME
    # Opening the instance here creates its database once: the webserver and the daemon would race to create it.
    with dg.DagsterInstance.get() as instance:  # and a run killed while the service was down must not hold the queue
        reap_dead_runs(instance, current_run_id=None, holding_lock=False)
    prepare_manifest(home, only_if_stale=True)  # parsed once, before two code servers load the definitions
    log.info("Dagster UI on http://127.0.0.1:%s (instance %s)", args.port, os.environ["DAGSTER_HOME"])
    return home


def _dagster_script(name: str) -> str:
    # the UI's processes run from Vigie's environment, whatever PATH says
    return str(Path(sysconfig.get_path("scripts")) / name)


def _supervise(processes: list[subprocess.Popen]) -> int:
    """Wait until one process ends or a signal comes, then end the others (SIGTERM, then SIGKILL)."""
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    while not stop and all(p.poll() is None for p in processes):
        time.sleep(0.5)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return 0 if stop else max(p.returncode or 0 for p in processes) or 1


def cmd_explain(args) -> int:
    import json

    import duckdb

    from assets import explain

    by_figure = args.client or args.month or args.indicator
    if bool(args.opportunity_id) == bool(by_figure) or (by_figure and not (args.client and args.month
                                                                           and args.indicator)):
        raise UserFacingError("give an opportunity id, or --client, --month and --indicator together")
    home = VigieHome.resolve(args.home)
    if not home.warehouse_db.is_file():
        raise UserFacingError(f"{home.warehouse_db}: no warehouse yet; run `vigie run` first")
    language = load_settings(home.settings_file).language if home.settings_file.is_file() else "fr"
    manifest = home.publish / "manifest.json"
    run = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    run = {"run_id": run.get("run_id"), "code_version": run.get("code_version"),
           "reference_date": (run.get("settings") or {}).get("as_of_date")}
    # the warehouse is read while no run writes it
    with hold_home(home.run_lock, run_id="vigie explain", wait=False), \
            duckdb.connect(str(home.warehouse_db), read_only=True) as con:
        try:
            if args.opportunity_id:
                found = explain.explain_opportunity(con, args.opportunity_id, home.missions_file, run)
                lines = explain.render_opportunity(found, language)
            else:
                figure = explain.Figure(args.client, args.month, args.indicator)
                found = {"figure": explain.explain_indicator(con, figure), "run": run}
                lines = [*explain.render_figure(found["figure"], language),
                         explain.render_run(run, language)]
        except explain.ExplainError as error:
            raise UserFacingError(str(error)) from None
    print(json.dumps(found, ensure_ascii=False, indent=2, default=str) if args.json else "\n".join(lines))
    return EXIT_OK


def cmd_docs(args) -> int:
    from dbt.cli.main import dbtRunner

    from orchestration.dbt_project import DBT_PROJECT_DIR
    from orchestration.run_guard import set_run_environment
    from orchestration.runner import activate_home

    home = VigieHome.resolve(args.home)
    check_configuration(home)
    activate_home(home)
    target = home.warehouse / "dbt_docs_target"
    # the catalogue is read from the working warehouse: not while a run writes it
    with hold_home(home.run_lock, run_id="vigie docs", wait=True):
        set_run_environment(home, load_settings(home.settings_file))  # the run's DuckDB limits, in the home
        result = dbtRunner().invoke(["docs", "generate", "--static", "--project-dir", str(DBT_PROJECT_DIR),
                                     "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
                                     "--log-path", str(home.dbt_logs)])
    if not result.success:
        raise UserFacingError(f"dbt docs generate failed: {result.exception or 'see the log above'}")
    out_dir = home.root / "docs"
    out_dir.mkdir(exist_ok=True)
    shutil.copy(target / "static_index.html", out_dir / "index.html")
    print(f"dbt documentation: {out_dir / 'index.html'}")
    return EXIT_OK


if __name__ == "__main__":
    console_main()
