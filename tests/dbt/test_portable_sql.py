"""The models are written once for DuckDB and Spark: no dialect-only construct may sit in a model's SQL.

Dialect differences live in the dispatched macros (dbt_project/macros), each with a DuckDB and a Spark spelling;
the parity test (tests/spark) proves the two builds agree. This test keeps the models from drifting back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"

# What DuckDB reads and Spark does not (or reads differently), as issue 12 lists it, and the functions a model
# used before they moved into macros. A function is matched as called in SQL, not as a macro of that name
# (`vigie.json_object_of(` is the portable spelling).
FUNCTION = r"(?<![.\w])"
DUCKDB_ONLY = {
    "qualify": r"\bqualify\b",
    "group by all": r"\bgroup\s+by\s+all\b",
    "order by all": r"\border\s+by\s+all\b",
    "* exclude / * replace": r"\*\s*(exclude|replace)\s*\(",
    ":: cast": r"::",
    "strptime / strftime": FUNCTION + r"str[pf]time\s*\(",
    "arg_max / arg_min": FUNCTION + r"arg_(max|min)\s*\(",
    "list_ functions": FUNCTION + r"list_\w+\s*\(",
    "struct_ functions": FUNCTION + r"struct_\w+\s*\(",
    "strip_accents": FUNCTION + r"strip_accents\s*\(",
    "regexp_full_match": FUNCTION + r"regexp_full_match\s*\(",
    "json_ functions": FUNCTION + r"json_\w+\s*\(",
}


def _without_comments(sql: str) -> str:
    sql = re.sub(r"\{#.*?#\}", " ", sql, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", " ", sql)


def _model_files() -> list[Path]:
    return sorted(MODELS.rglob("*.sql"))


def test_the_scan_sees_every_model() -> None:
    assert len(_model_files()) > 60


@pytest.mark.parametrize("construct", sorted(DUCKDB_ONLY))
def test_no_model_uses_a_duckdb_only_construct(construct: str) -> None:
    pattern = re.compile(DUCKDB_ONLY[construct], re.IGNORECASE)
    offenders = [
        f"{path.relative_to(MODELS)}:{number}: {line.strip()}"
        for path in _model_files()
        for number, line in enumerate(_without_comments(path.read_text(encoding="utf-8")).splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_scan_finds_what_it_looks_for() -> None:
    # A scan that matched nothing would pass on any model: each pattern must catch its construct.
    samples = {
        "qualify": "select * from t qualify row_number() over () = 1",
        "group by all": "select a, count(*) from t group by all",
        "order by all": "select a from t order by all",
        "* exclude / * replace": "select * exclude (a) from t",
        ":: cast": "select a::int from t",
        "strptime / strftime": "select strptime(a, '%Y') from t",
        "arg_max / arg_min": "select arg_max(a, b) from t",
        "list_ functions": "select list_sort(a) from t",
        "struct_ functions": "select struct_pack(a := 1)",
        "strip_accents": "select strip_accents(a) from t",
        "regexp_full_match": "select regexp_full_match(a, 'x') from t",
        "json_ functions": "select json_object('a', 1)",
    }
    assert samples.keys() == DUCKDB_ONLY.keys()
    for construct, sql in samples.items():
        assert re.search(DUCKDB_ONLY[construct], sql, re.IGNORECASE), construct
    assert not re.search(DUCKDB_ONLY["qualify"], _without_comments("-- qualify in a comment\nselect 1"))
    assert not re.search(DUCKDB_ONLY["json_ functions"], "select {{ vigie.json_object_of([]) }}")
