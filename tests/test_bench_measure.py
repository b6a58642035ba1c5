"""The benchmark's measurement of one command (bench/measure.py): wall time and the CPU time of its whole tree."""

import sys
import textwrap

from bench.measure import measure

# A grandchild that burns CPU and says how much; the child only waits for it, as a run waits for its dbt.
BUSY_GRANDCHILD = textwrap.dedent("""
    import time
    total = 0
    end = time.process_time() + 0.6
    while time.process_time() < end:
        total += 1
    print(time.process_time())
""")
WAITING_CHILD = textwrap.dedent(f"""
    import subprocess, sys
    done = subprocess.run([sys.executable, "-c", {BUSY_GRANDCHILD!r}], capture_output=True, text=True, check=True)
    print(done.stdout.strip())
""")


def test_cpu_time_counts_the_processes_the_command_waited_for(tmp_path):
    out = tmp_path / "out.txt"
    with out.open("w") as stdout:
        measured = measure([sys.executable, "-c", WAITING_CHILD], stdout=stdout)
    grandchild_cpu = float(out.read_text().strip())
    assert measured.exit_code == 0
    assert grandchild_cpu >= 0.6
    # the child's own CPU time is that of starting Python: most of the measure is the grandchild's
    assert measured.cpu_seconds >= grandchild_cpu
    assert measured.cpu_seconds < grandchild_cpu + 5


def test_cpu_time_is_that_of_one_command_not_of_those_measured_before():
    measure([sys.executable, "-c", BUSY_GRANDCHILD])
    idle = measure([sys.executable, "-c", "import time; time.sleep(0.3)"])
    assert idle.seconds >= 0.3
    assert idle.cpu_seconds < 0.5
