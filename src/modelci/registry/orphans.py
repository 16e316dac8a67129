"""Versions a train registered but never recorded in its run folder.

Train registers a version with ``modelci.state=pending`` and the ``host:pid:start`` of its
process, records it in the manifest, then marks it ``ready``. A process killed in between
leaves a pending version. The next train, compare or promote against the same model finds
it: a version the run folder records (same version and run id) is adopted (``ready``); any
other is archived (``orphaned``: never promotable; its run is tagged so, and marked KILLED
when still RUNNING). A pending version whose owner process is still alive on this host is
left alone (a concurrent train); one owned by another host is archived only after
``STALE_SECONDS``, since its owner cannot be asked.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelci.registry import tags
from modelci.registry.client import VersionRef, set_tags, versions
from modelci.registry.location import Location

STALE_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Known:
    """The version the run folder records, if any."""

    version: str | None
    run_id: str | None


def owner() -> str:
    """This process, as a pending version's owner: host, pid and the pid's start time (so a
    reused pid is not taken for the owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return ""
    # the command name (field 2) may hold spaces; fields after it are plain
    return stat.rpartition(")")[2].split()[19]


def _owner_alive(found: str, created_ms: int | None) -> bool:
    host, _, rest = found.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname():
        age = time.time() - (created_ms or 0) / 1000
        return age < STALE_SECONDS
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True  # someone else's live process
    return not started or _start_time(pid) == started


def sweep(client: Any, location: Location, name: str, known: Known) -> list[str]:
    """Adopt or archive the pending versions of ``name``; what was done, as sentences."""
    said: list[str] = []
    for version in versions(client, location, name):
        if version.tags.get(tags.STATE) != tags.PENDING:
            continue
        if _owner_alive(version.tags.get(tags.OWNER, ""), version.created_ms):
            continue
        if known.version == version.version and known.run_id == version.run_id:
            set_tags(client, location, name, version.version, {tags.STATE: tags.READY})
            said.append(
                f"adopted {name} version {version.version}: the run folder records it, but "
                "its train stopped before marking it ready"
            )
            continue
        set_tags(client, location, name, version.version, {tags.STATE: tags.ORPHANED})
        _end_run(client, version)
        said.append(
            f"archived {name} version {version.version}: run {version.run_id} registered it "
            "and stopped before recording it in a run folder; it will never be promoted"
        )
    return said


def _end_run(client: Any, version: VersionRef) -> None:
    """Say on the run that its version was archived; a run still RUNNING was killed."""
    if not version.run_id:
        return
    with contextlib.suppress(Exception):
        client.set_tag(version.run_id, tags.STATE, tags.ORPHANED)
        if client.get_run(version.run_id).info.status == "RUNNING":
            client.set_terminated(version.run_id, "KILLED")


def promotable(version: VersionRef) -> str | None:
    """Why ``version`` may not be promoted because of its state, or ``None``."""
    state = version.tags.get(tags.STATE)
    if state == tags.PENDING:
        return (
            f"version {version.version} is still being registered (or its train crashed); "
            "rerun `modelci train`"
        )
    if state == tags.ORPHANED:
        return f"version {version.version} was archived: its train stopped before recording it"
    return None
