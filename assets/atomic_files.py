"""Small state files (caches, stamps, settings) written whole or not at all.

The text goes to a temporary name beside the target, then is renamed over it: a reader sees the old file or the
new one, never a part, and a run killed while writing leaves the old one. (The published snapshot and parquet
files, which BI tools read, are written by assets/publish.py with fsyncs on top.)
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8), creating its folder; on failure, nothing is left behind but the old file
    and the error is raised."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise
