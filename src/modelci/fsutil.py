"""File access: atomic writes (a reader sees the old file or the new one, never half of one)
created with the mode the umask gives, and reads that refuse what is not a regular file."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

from modelci import secrets
from modelci.results import plain


class NotRegularFile(OSError):
    """The path is a folder, FIFO, socket or device where a file was expected."""

    def __init__(self, path: str | Path, kind: str) -> None:
        super().__init__(f"{path}: is a {kind}, not a regular file")
        self.kind = kind


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def open_regular(path: str | Path) -> BinaryIO:
    """Open ``path`` for binary reading; NotRegularFile unless it is a regular file.

    A FIFO opened for reading waits for a writer, forever if none comes; opened with
    O_NONBLOCK it returns at once, and fstat then says what it is.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, _kind(mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The text of a regular file (NotRegularFile for a FIFO or folder, without blocking)."""
    with open_regular(path) as handle:
        return handle.read().decode(encoding)


def _umask() -> int:
    # os.umask can only be read by setting it, and a thread creating a file in that instant
    # would get the wrong mode: read it from /proc where Linux offers it
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(line for line in status if line.startswith("Umask:"))
        return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        # Name the file the user asked for, not our hidden temporary one.
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    binary = "b" in mode
    try:
        # mkstemp creates 0600; a written file gets what open() would give it
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(target)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` atomically; credentials the process knows are replaced by ``***``
    (the run folder is an artifact: see :mod:`modelci.secrets`)."""
    with atomic_open(path, "w") as handle:
        handle.write(secrets.scrub(text))
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_open(path, "wb", encoding=None) as handle:
        handle.write(data)
    return Path(path)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, made plain first (numpy values, paths, NaN as null:
    see :func:`modelci.results.plain`)."""
    return write_text(path, json.dumps(plain(data), indent=2, sort_keys=False) + "\n")
