"""Run one command; return its wall time, the CPU time of its process tree, its peak memory, and the memory curve
over time.

Memory is the resident set of the whole tree (Vigie and the dbt processes it starts), read from /proc every
quarter of a second: the curve lets bench.run give each pipeline stage its own peak.

CPU time is user + system time of the command and of every process under it that was waited for (dbt's forks are
reaped by the run's dbt server, which the run reaps): the work done. On a shared machine the wall time of one run
varies by tens of percent from one minute to the next, its CPU time far less (four runs of the plain script in a
row: 8.2 to 13.2 s of wall time, 12.9 to 13.6 s of CPU time), so a change that does less work shows in it even when
the wall times overlap. From one hour to the next the CPU time moves too (the same script: 13.2 s in one bench,
15.2 s an hour later): compare runs measured side by side.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_SECONDS = 0.25
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Measurement:
    exit_code: int
    seconds: float
    peak_mb: int
    started_at: float  # time.time() when the command started
    cpu_seconds: float = 0.0  # user + system time of the process tree
    samples: list[tuple[float, float]] = field(default_factory=list)  # (time.time(), tree RSS in MB)

    def peak_between(self, start: float, end: float) -> int:
        """The largest sample taken during [start, end], or the one just before it for a stage shorter than the
        sampling period."""
        inside = [mb for at, mb in self.samples if start <= at <= end]
        before = [mb for at, mb in self.samples if at < start][-1:]
        return round(max(inside or before, default=0))


def measure(command: list[str], stdout=subprocess.DEVNULL) -> Measurement:
    cpu_before = _reaped_children_cpu_seconds()
    started_at, started = time.time(), time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT)
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.time(), _tree_rss_mb(process.pid)))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - started
    return Measurement(code, round(elapsed, 2), round(max((mb for _, mb in samples), default=0)), started_at,
                       cpu_seconds=round(_reaped_children_cpu_seconds() - cpu_before, 2), samples=samples)


def _reaped_children_cpu_seconds() -> float:
    """User + system time of this process's children that have ended and been waited for, and of theirs: the bench
    runs one command at a time, so the difference around a command is that command's tree."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants, in MB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * PAGE_MB
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


def main() -> None:
    result = measure(sys.argv[1:], stdout=None)
    print(json.dumps({"exit_code": result.exit_code, "seconds": result.seconds, "cpu_seconds": result.cpu_seconds,
                      "peak_rss_mb": result.peak_mb}))


if __name__ == "__main__":
    main()
