"""Content digests of datasets: stable across re-runs, machines and folder locations.

One file hashes to the sha256 of its bytes. Several files hash to the sha256 of a canonical
listing, ``"<sha256 of file>  <path relative to root>\\n"`` per file sorted by path (the
``sha256sum`` format), so the digest changes when any byte, name or file changes, and not
when the listing order or the folder's absolute location does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

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
