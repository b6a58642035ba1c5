"""The sha256 of each landing file, read again only when the file's stat says it may have changed.

An unattended morning with nothing new used to read every export to hash it: the 1.5 GB of the 10 M-line bench took
1.2 s from the page cache, 2.2 s from this machine's disk with the cache dropped, and 33 s once while the test suite
shared the disk; a firm's exports on a network share cost more. Like git's index, the warehouse keeps each file's
stat beside its hash (size, mtime and ctime in ns, inode, device), and a file whose stat is unchanged keeps its hash:
the unchanged 10 M-line morning's FEC ingestion took 0.3 to 0.4 s instead of 1.2 (0.4 instead of 2.2 with the cache
dropped). Any write to a file moves its ctime, which no tool can set back (`touch -d`, `cp -p` and `rsync -t` set
the mtime only), and a file replaced by another gets another inode.

What a stat cannot tell: a file written again within the same clock tick as the stat that was kept. So, as git does
with "racily clean" entries, a stat is kept only when the file had not changed for RACY_MARGIN_NS before it was
hashed, and had not changed while it was being hashed; any other file is hashed again next time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from assets.warehouse import STATE_SCHEMA, transaction

TABLE = f"{STATE_SCHEMA}.landing_file_hashes"
RACY_MARGIN_NS = 2_000_000_000  # coarser than any file system's timestamps


def _signature(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev


def hashes(con, folder: str, files: list[tuple[Path, str]],
           hash_all: Callable[[list[Path]], list[tuple[str | None, OSError | None]]]
           ) -> list[tuple[str | None, OSError | None]]:
    """(sha256, None) or (None, the error reading it) for each (path, path under landing/) of one landing folder,
    in order: the kept hash of a file whose stat is unchanged, else `hash_all`'s. Keeps the stat and hash of each
    settled file hashed here, and forgets the folder's files that are gone."""
    _create(con)
    present = [file_path for _, file_path in files]
    kept = {file_path: (signature, sha) for file_path, *signature, sha in con.execute(
        f"SELECT file_path, size, mtime_ns, ctime_ns, inode, device, sha256 FROM {TABLE}"
        " WHERE list_contains(?, file_path)", [present]).fetchall()}
    results: list[tuple[str | None, OSError | None] | None] = [None] * len(files)
    to_hash: list[tuple[int, tuple | None]] = []  # (index in files, its stat's signature if it could be read)
    for index, (path, file_path) in enumerate(files):
        try:
            signature = _signature(path.stat())
        except OSError:
            to_hash.append((index, None))  # hashing it reports the error
            continue
        known_signature, known_sha = kept.get(file_path, (None, None))
        if known_signature is not None and tuple(known_signature) == signature:
            results[index] = (known_sha, None)
        else:
            to_hash.append((index, signature))
    started_ns = time.time_ns()
    hashed = hash_all([files[index][0] for index, _ in to_hash])
    settled = []
    for (index, before), (sha, error) in zip(to_hash, hashed, strict=True):
        results[index] = (sha, error)
        if error is None and before is not None and _settled(files[index][0], before, started_ns):
            settled.append({"file_path": files[index][1], "size": before[0], "mtime_ns": before[1],
                            "ctime_ns": before[2], "inode": before[3], "device": before[4], "sha256": sha})
    _keep(con, folder, settled, present)
    return results


def _settled(path: Path, before: tuple, started_ns: int) -> bool:
    """Unchanged while it was hashed, and for RACY_MARGIN_NS before: a stat later equal is then the same content."""
    try:
        after = _signature(path.stat())
    except OSError:
        return False
    return after == before and max(before[1], before[2]) < started_ns - RACY_MARGIN_NS


def _keep(con, folder: str, settled: list[dict], present: list[str]) -> None:
    rows = ("SELECT unnest(?::STRUCT(file_path VARCHAR, size BIGINT, mtime_ns BIGINT, ctime_ns BIGINT, inode UBIGINT,"
            " device UBIGINT, sha256 VARCHAR)[], recursive := true)")
    with transaction(con):
        # a file gone from the folder is forgotten: put back later, it is hashed again
        con.execute(f"DELETE FROM {TABLE} WHERE starts_with(file_path, ?) AND NOT list_contains(?, file_path)",
                    [f"{folder}/", present])
        if settled:
            con.execute(f"INSERT OR REPLACE INTO {TABLE} {rows}", [settled])


def _create(con) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (file_path VARCHAR PRIMARY KEY, size BIGINT NOT NULL,"
                " mtime_ns BIGINT NOT NULL, ctime_ns BIGINT NOT NULL, inode UBIGINT NOT NULL, device UBIGINT NOT NULL,"
                " sha256 VARCHAR NOT NULL)")
