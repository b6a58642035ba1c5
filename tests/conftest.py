"""How `make test` spreads the modules over pytest-xdist's workers.

`pytest -n auto --dist loadfile --no-loadscope-reorder`: each module goes whole to one worker (its module-scoped
fixtures, a dbt build or a whole pipeline run, are made once), and modules are handed out in collection order.
The folders whose modules run Spark or whole pipelines are collected first, so they start first and the many short
modules fill the gaps after. xdist's default order (the modules with the most tests first) started the one-test
Spark parity module, three and a half minutes long, last, with the other worker idle meanwhile.
"""

from __future__ import annotations

LONG_RUNNING_FIRST = ("tests/spark/test_parity.py", "tests/spark/", "tests/e2e/", "tests/dbt/")


def _start_rank(item) -> int:
    path = item.nodeid.split("::", 1)[0]
    ranks = [rank for rank, prefix in enumerate(LONG_RUNNING_FIRST) if path.startswith(prefix)]
    return ranks[0] if ranks else len(LONG_RUNNING_FIRST)


def pytest_collection_modifyitems(items):
    items.sort(key=_start_rank)  # stable: each module's tests stay together and in their order
