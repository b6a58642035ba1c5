"""The `vigie` command ends with os._exit once the command is done (orchestration.cli.console_main): the exit
handlers must still run, what was printed into a pipe must arrive whole, and the exit code must be the command's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VIGIE = str(Path(sys.executable).with_name("vigie"))


def _console_main(tmp_path: Path, argv: list[str], setup: str = "") -> subprocess.CompletedProcess:
    """Run console_main in a fresh interpreter with `argv`, after `setup` (Python code)."""
    script = (f"import sys, atexit\n{setup}\nsys.argv = ['vigie', *{argv!r}]\n"
              "from orchestration.cli import console_main\nconsole_main()\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


def test_the_exit_handlers_run_before_the_process_ends(tmp_path):
    marker = tmp_path / "handler-ran"
    result = _console_main(tmp_path, ["generate", "--out", str(tmp_path / "firm"), "--clients", "1",
                                      "--lines-per-client", "20"],
                           setup=f"atexit.register(lambda: open({str(marker)!r}, 'w').write('yes'))")
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "yes", "an exit handler (logging's flush, temporary folders) was skipped"


def test_a_failing_command_keeps_its_exit_code_and_its_message(tmp_path):
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.yml").write_text("language: [not, a, language\n", encoding="utf-8")
    result = subprocess.run([VIGIE, "run", "--home", str(home)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("vigie:")], result.stderr


def test_what_a_command_prints_into_a_pipe_arrives_whole(tmp_path):
    # A pipe is block-buffered: without the flush before os._exit, the end of the output would be lost.
    lines = 20_000
    result = _console_main(tmp_path, ["generate", "--out", str(tmp_path / "firm"), "--clients", "1",
                                      "--lines-per-client", "20"],
                           setup=f"print('\\n'.join(str(i) for i in range({lines})))")
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    assert printed[:lines] == [str(i) for i in range(lines)]
