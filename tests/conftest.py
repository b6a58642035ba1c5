"""How `make test` spreads the modules over pytest-xdist's workers, and what they share.

`pytest -n <cores + 1> --dist loadfile --no-loadscope-reorder`: each module goes whole to one worker (its module-scoped
fixtures, a dbt build or a whole pipeline run, are made once), and modules are handed out in collection order.
The folders whose modules run Spark or whole pipelines are collected first, so they start first and the many short
modules fill the gaps after. xdist's default order (the modules with the most tests first) started the one-test
Spark parity module, three and a half minutes long, last, with the other worker idle meanwhile.

The workers share one cache of dbt parses (orchestration/dbt_parse_seed.py), made for this session: each new home
starts from the last parse instead of parsing the whole project, and nothing comes from, or is left in, the
developer's own cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from orchestration.dbt_parse_seed import CACHE_ENV

LONG_RUNNING_FIRST = ("tests/spark/test_parity.py", "tests/spark/", "tests/e2e/", "tests/dbt/")


def _start_rank(item) -> int:
    path = item.nodeid.split("::", 1)[0]
    ranks = [rank for rank, prefix in enumerate(LONG_RUNNING_FIRST) if path.startswith(prefix)]
    return ranks[0] if ranks else len(LONG_RUNNING_FIRST)


def pytest_collection_modifyitems(items):
    items.sort(key=_start_rank)  # stable: each module's tests stay together and in their order


def pytest_configure(config):
    # In the process that starts the xdist workers (or runs alone): the workers inherit its environment.
    if not hasattr(config, "workerinput") and CACHE_ENV not in os.environ:
        config.vigie_parse_cache = tempfile.mkdtemp(prefix="vigie-dbt-parse-")
        os.environ[CACHE_ENV] = config.vigie_parse_cache


def pytest_unconfigure(config):
    created = getattr(config, "vigie_parse_cache", None)
    if created:
        shutil.rmtree(created, ignore_errors=True)
        os.environ.pop(CACHE_ENV, None)
