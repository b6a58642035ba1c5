"""A Spark Thrift Server on 127.0.0.1, started from the pyspark package of .venv-spark (`make spark-runtime`; Java 17
on the machine), for dbt-spark."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from dbt.cli.main import dbtRunner, dbtRunnerResult

REPOSITORY = Path(__file__).resolve().parents[2]
SPARK_VENV = REPOSITORY / ".venv-spark"
STARTUP_SECONDS = 120  # 16 s on this 2-core machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def spark_home_in(venv: Path) -> Path:
    """pyspark's folder in the Spark environment: its bin/spark-submit and jars make a Spark installation."""
    found = sorted(venv.glob("lib/python3*/site-packages/pyspark/bin/spark-submit"))
    if not found:
        raise RuntimeError(f"no pyspark in {venv}: run `make spark-runtime` (make test does)")
    return found[-1].parent.parent


@contextmanager
def thrift_server(workdir: Path):
    """Yields the port of a running server; its warehouse and metastore live in `workdir`; killed on exit."""
    spark_home = spark_home_in(SPARK_VENV)
    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "thrift-server.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [str(spark_home / "bin" / "spark-submit"),
         "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2", "--master", "local[2]",
         "--conf", f"spark.sql.warehouse.dir={workdir / 'warehouse'}", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.driver.memory=1g",
         # The tests' tables hold hundreds of rows: Spark's default of 200 partitions after each shuffle is 200 tasks
         # of nothing. The parity module's server used 452 and 493 s of CPU with it; with 2, one for each core of
         # local[2], 395 to 442 s (median 403 s) in five runs, four of them with one more setting that changed nothing.
         "--conf", "spark.sql.shuffle.partitions=2",
         "--hiveconf", f"hive.server2.thrift.port={port}", "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
         "spark-internal"],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "SPARK_HOME": str(spark_home)})
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Spark Thrift Server did not start; see {workdir / 'thrift-server.log'}")
            time.sleep(0.5)
        yield port
    finally:
        os.killpg(process.pid, 9)  # the JVM and whatever spark-submit started
        process.wait()
        log.close()


# pyspark's jars lack Hive's LLAP classes: now and then the Thrift Server fails to close a session with this
# error (seen once in five full runs). dbt-spark reports it against the model that session ran, or, when a session
# of dbt's relation cache meets it, dbt stops before any node.
SERVER_FAULTS = ("NoClassDefFoundError",)
SERVER_FAULT_RETRIES = 3  # invocations after the first build, at most


def build_through_server_faults(build: list[str], retry: list[str]) -> tuple[dbtRunnerResult, dbtRunnerResult]:
    """`dbt build` on the server, run again while it fails for the server's own fault alone, not the SQL's: `retry`
    (`dbt retry`) when nodes failed, the build again when none ran, SERVER_FAULT_RETRIES times at most. The last
    result, and the last build's."""
    result = built = dbtRunner().invoke(build)
    for _ in range(SERVER_FAULT_RETRIES):
        if result.success or not only_server_faults(result):
            break
        if result.result is None:
            result = built = dbtRunner().invoke(build)
        else:
            result = dbtRunner().invoke(retry)
    return result, built


def only_server_faults(result: dbtRunnerResult) -> bool:
    """The invocation failed for the server's fault alone: at its nodes, or before any (result.result is None)."""
    if result.result is None:
        return any(fault in str(result.exception) for fault in SERVER_FAULTS)
    failures = [r for r in result.result if r.status in ("error", "fail")]
    return bool(failures) and all(any(fault in (r.message or "") for fault in SERVER_FAULTS) for r in failures)
