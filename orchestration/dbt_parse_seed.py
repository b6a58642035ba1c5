"""A home's first dbt parse starts from the last parse made on this machine for the same project and connection.

Profile: a full parse of the project takes 9 to 10 s on a 2-core machine, before every first run of a new home (and
in `make test`, which builds about twenty homes). A parse that starts from another home's only parses again the
files whose inputs differ, such as those that read the reference date.

dbt refuses to start from another home's parse: it keeps a hash of the profile's connection values in it
(dbt/parser/manifest.py, build_manifest_state_check), and the warehouse path differs from home to home. No model,
macro or test of the project reads that path (`target.path`), so a parse made with the same connection except the
path is valid here once it carries this home's hash. dbt checks everything else itself (its version, the vars,
the environment the files read, each file's hash) and parses again what differs.

Seeds live under $VIGIE_DBT_PARSE_CACHE (default ~/.cache/vigie/dbt-parse), one per project directory and
connection without the path. Nothing here can fail a parse: a seed missing, unreadable or refused by dbt leaves
dbt to parse in full, as it did before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pprint
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "VIGIE_DBT_PARSE_CACHE"
log = logging.getLogger("vigie.dbt")


def cache_directory() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vigie" / "dbt-parse"


@dataclass(frozen=True)
class ParseSeed:
    """The seed for this process's dbt profile: where it is kept, and the profile hash dbt computes here."""

    path: Path
    profile_hash: str

    def plant(self, partial_parse: Path) -> bool:
        """Write the seed, carrying this profile's hash, where dbt reads its partial parse; False without one."""
        import msgpack

        try:
            manifest = msgpack.unpackb(self.path.read_bytes(), raw=False, strict_map_key=False)
            manifest["state_check"]["profile_hash"]["checksum"] = self.profile_hash
            partial_parse.write_bytes(msgpack.packb(manifest, use_bin_type=True))
        except Exception:  # noqa: BLE001  any unreadable seed: dbt parses in full
            partial_parse.unlink(missing_ok=True)
            return False
        return True

    def keep(self, partial_parse: Path) -> None:
        """Offer a parse just made as the seed of the next new home (written whole, then renamed)."""
        copy = self.path.with_name(f".seed-{uuid.uuid4().hex}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(partial_parse, copy)
            os.replace(copy, self.path)
        except OSError as error:  # a full disk or a read-only cache: the next new home parses in full
            log.debug("dbt parse not kept as a seed: %s", error)
            copy.unlink(missing_ok=True)


def seed_for(project_dir: Path) -> ParseSeed | None:
    """The seed of the profile dbt reads in this environment, or None when the profile cannot be read here (the
    parse then reports why) or there is no cache directory (no home directory to put it in)."""
    try:
        connection = _connection(project_dir)
        directory = cache_directory()
    except Exception as error:  # noqa: BLE001  dbt's own parse will say what is wrong with the profile
        log.debug("no dbt parse seed: %s", error)
        return None
    without_path = [(key, value) for key, value in connection if key != "path"]
    key = hashlib.sha256(f"{project_dir.resolve()}\0{pprint.pformat(without_path)}".encode()).hexdigest()
    return ParseSeed(path=directory / f"{key[:32]}.msgpack", profile_hash=_profile_hash(connection))


def _connection(project_dir: Path) -> list[tuple]:
    """The profile's connection values as dbt renders them for this environment, sorted as dbt sorts them."""
    from argparse import Namespace

    from dbt.config.runtime import load_profile
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ)  # what env_var() reads in profiles.yml
    set_from_args(Namespace(profiles_dir=str(project_dir)), None)  # the next dbt invocation sets its own
    return sorted(load_profile(str(project_dir), {}).credentials.connection_info())


def _profile_hash(connection: list[tuple]) -> str:
    """dbt's profile hash (build_manifest_state_check); tests/orchestration/test_dbt_parse_seed.py fails when a dbt
    version computes it otherwise."""
    from dbt.contracts.files import FileHash

    return FileHash.from_contents(pprint.pformat(connection)).checksum
