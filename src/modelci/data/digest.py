"""Hashing a dataset file while the reader parses it.

The digests themselves (one file, a listing of several, a model folder) are defined in
:mod:`modelci.digests`; this adds the reader's way of computing one: on a worker thread,
with the reader's cheap byte checks and the progress bar riding along on each chunk.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from modelci import progress as progress_bar
from modelci.data.files import os_errors
from modelci.digests import file_sha256


class _Cancelled(Exception):
    pass


def _hash(
    path: Path,
    scan: Callable[[bytes], None] | None,
    bar: progress_bar.NullProgress,
    stop: threading.Event,
) -> str:
    def on_chunk(chunk: bytes) -> None:
        if stop.is_set():
            raise _Cancelled
        if scan is not None:
            scan(chunk)
        bar.update(len(chunk))

    with os_errors(path):
        return file_sha256(path, on_chunk)


@contextlib.contextmanager
def hashing(
    path: Path, scan: Callable[[bytes], None] | None, bar: progress_bar.NullProgress
) -> Iterator[Future[str]]:
    """Hash ``path`` on a worker thread while the caller parses it.

    hashlib and file reads release the GIL, so the digest costs almost no wall time next
    to pyarrow's parse. ``scan`` sees every chunk on the way. If the caller fails first,
    the worker stops at its next chunk.
    """
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelci-digest") as pool:
        future = pool.submit(_hash, path, scan, bar, stop)
        try:
            yield future
        except BaseException:
            stop.set()
            raise
