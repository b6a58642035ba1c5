"""`vigie-dbt`: dbt's own command line (`dbt build`, `dbt --version`, ...), ended by exit_without_teardown.

The dbt steps run it in place of `dbt` (orchestration/dbt_assets.py): each step's dbt spent 0.4 s freeing its
objects after its last line, while the run waited for it. Nothing else differs from `dbt`.
"""

from __future__ import annotations

from orchestration.process_exit import exit_without_teardown


def main() -> None:
    from dbt.cli.main import cli  # what the `dbt` script runs

    try:
        cli()  # click ends a command with SystemExit, success included
        code: int | str | None = 0
    except SystemExit as end:
        code = end.code
    exit_without_teardown(code)
