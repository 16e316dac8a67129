"""Content digests of datasets: stable across re-runs, machines and folder locations.

One file hashes to the sha256 of its bytes. Several files hash to the sha256 of a canonical
listing, ``"<sha256 of file>  <path relative to root>\\n"`` per file sorted by path (the
``sha256sum`` format), so the digest changes when any byte, name or file changes, and not
when the listing order or the folder's absolute location does.

The reader hashes each file on a worker thread while pyarrow parses it (:func:`hashing`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from modelci import progress as progress_bar
from modelci.data.files import os_errors

CHUNK = 1024 * 1024


def file_sha256(path: Path, on_chunk: Callable[[bytes], None] | None = None) -> str:
    """Hex sha256 of a file, streamed in 1 MiB chunks.

    ``on_chunk`` sees every chunk, so a caller that must scan the bytes anyway (the CSV
    reader counts quotes) does it in the same pass instead of reading the file twice.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
    return digest.hexdigest()


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


def combine(file_digests: dict[str, str]) -> str:
    """``sha256:<hex>`` of the canonical listing of ``{relative path: hex sha256}``."""
    listing = "".join(f"{file_digests[name]}  {name}\n" for name in sorted(file_digests))
    return "sha256:" + hashlib.sha256(listing.encode("utf-8")).hexdigest()


def relative_name(path: Path, root: Path | None) -> str:
    """The path as it appears in the listing: relative to ``root``, with ``/`` separators."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def dataset_digest(files: Sequence[Path], root: Path | None = None) -> str:
    """``sha256:<64 hex>`` of a dataset.

    One file: the sha256 of its bytes (what ``sha256sum`` prints). Several files: the sha256
    of their canonical listing, with paths relative to ``root`` (default: the files' common
    folder), so moving the folder elsewhere keeps the digest.
    """
    paths = [Path(f) for f in files]
    if not paths:
        raise ValueError("dataset_digest needs at least one file")
    if len(paths) == 1:
        return "sha256:" + file_sha256(paths[0])
    base = root if root is not None else common_root(paths)
    digests: dict[str, str] = {}
    for path in paths:
        name = relative_name(path, base)
        if name in digests:
            raise ValueError(f"two files share the listing name {name!r}; pass their common root")
        digests[name] = file_sha256(path)
    return combine(digests)


def common_root(paths: Sequence[Path]) -> Path:
    """The deepest folder holding every path."""
    resolved = [p.resolve() for p in paths]
    parents = [p.parent for p in resolved]
    common = parents[0]
    for parent in parents[1:]:
        while common != parent and common not in parent.parents:
            common = common.parent
    return common
