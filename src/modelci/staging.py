"""Scratch folders for work in progress, kept out of the run folder.

The run folder travels between CI jobs as an artifact, so a step's staging (a train's
dataset samples hold raw rows) must never be left inside it. Staging lives in the system's
temporary folder, named after the process that owns it, and is removed on every exit path
the process controls (success, error, Ctrl-C, SIGTERM: the CLI turns it into an
interruption). A process killed outright cannot clean up; the next step of the same kind on
this machine removes what such a process left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

PREFIX = "modelci-"


@contextlib.contextmanager
def folder(kind: str) -> Iterator[Path]:
    """A fresh staging folder for ``kind`` work, removed when the block ends."""
    root = Path(tempfile.gettempdir())
    _remove_abandoned(root, kind)
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _remove_abandoned(root: Path, kind: str) -> None:
    """Remove staging folders of ``kind`` whose owning process is gone."""
    for path in root.glob(f"{PREFIX}{kind}-*-*"):
        pid_text = path.name[len(f"{PREFIX}{kind}-") :].partition("-")[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(folder: Path, pattern: str) -> None:
    """Remove staging that older modelci versions kept inside ``folder`` (``pattern`` is a
    glob such as ``.train-*``)."""
    for path in folder.glob(pattern):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def move(source: Path, destination: Path) -> None:
    """Move a finished file or folder into place: a rename where possible, else a copy
    beside the destination that is then renamed (staging may be on another file system)."""
    try:
        os.replace(source, destination)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    try:
        if source.is_dir():
            shutil.copytree(source, partial, symlinks=True)
        else:
            shutil.copy2(source, partial)
        os.replace(partial, destination)
    except BaseException:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
        raise
    if source.is_dir():
        shutil.rmtree(source, ignore_errors=True)
    else:
        source.unlink(missing_ok=True)
