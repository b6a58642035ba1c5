"""Run one command and print its wall time and peak resident memory (its process tree's largest process)."""

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    started = time.perf_counter()
    code = subprocess.call(sys.argv[1:])
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"exit_code": code, "seconds": round(elapsed, 2), "peak_rss_mb": round(peak_kib / 1024)}))


if __name__ == "__main__":
    main()
