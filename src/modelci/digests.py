"""Content digests: of datasets, of model folders and of bytes, stable across re-runs,
machines and folder locations. One place, so every step names a file or a model by the same
``sha256:<hex>``.

One file hashes to the sha256 of its bytes. Several files hash to the sha256 of a canonical
listing, ``"<sha256 of file>  <path relative to root>\\n"`` per file sorted by path (the
``sha256sum`` format), so the digest changes when any byte, name or file changes, and not
when the listing order or the folder's absolute location does.

``model_digest`` is that listing over an MLflow model folder, where three kinds of file are
hashed in a normalised form because MLflow or the serialiser writes values into them that
differ on every run although the model does not:

- ``MLmodel``: the keys ``run_id``, ``model_id``, ``model_uuid``, ``utc_time_created``,
  ``artifact_path`` and ``model_size_bytes`` are dropped, the rest is hashed as sorted JSON.
- ``*.skops`` archives: skops names array members and ``__id__`` fields after Python object
  ids and stamps each member with the time; they are renumbered in order of first appearance
  and the archive is hashed as its member names and contents, not its zip bytes.
- ``registered_model_meta`` (written on download from a registry) is left out.

Everything else (the pickled or skops model, requirements, environment files, input example,
signature) is hashed byte for byte, so any change to the model or its environment changes
the digest, and the same data, config and seed give the same digest.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CHUNK = 1024 * 1024


def sha256_of(data: bytes) -> str:
    """``sha256:<hex>`` of bytes held in memory (a decision file as written, say)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


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


# --- model folders -----------------------------------------------------------------------

VOLATILE_MLMODEL_KEYS = frozenset(
    {"run_id", "model_id", "model_uuid", "utc_time_created", "artifact_path", "model_size_bytes"}
)
SKIPPED_FILES = frozenset({"registered_model_meta"})


def model_digest(folder: Path) -> str:
    """``sha256:<hex>`` of the model folder's normalised contents."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name in SKIPPED_FILES:
            continue
        lines.append(f"{hashlib.sha256(_normalised(path)).hexdigest()}  {name}\n")
    return "sha256:" + hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _normalised(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name == "MLmodel":
        return _mlmodel(data)
    if path.suffix == ".skops" and zipfile.is_zipfile(io.BytesIO(data)):
        return _skops(data)
    return data


def _mlmodel(data: bytes) -> bytes:
    import yaml

    try:
        meta = yaml.safe_load(data)
    except yaml.YAMLError:
        return data
    if not isinstance(meta, dict):
        return data
    stable = {k: v for k, v in meta.items() if k not in VOLATILE_MLMODEL_KEYS}
    return json.dumps(stable, sort_keys=True, default=str).encode("utf-8")


_ID_FILE = re.compile(r"^(\d+)\.npy$")


def _skops(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    schema_bytes = members.pop("schema.json", None)
    if schema_bytes is None:
        return data
    schema = json.loads(schema_bytes)
    ids: dict[str, str] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "__id__":
                    value = ids.setdefault(str(value), str(len(ids)))
                elif key == "file" and isinstance(value, str) and _ID_FILE.match(value):
                    stem = _ID_FILE.match(value).group(1)  # type: ignore[union-attr]
                    value = ids.setdefault(stem, str(len(ids))) + ".npy"
                else:
                    value = renumber(value)
                out[key] = value
            return out
        if isinstance(node, list):
            return [renumber(v) for v in node]
        return node

    canonical = renumber(schema)
    digest = hashlib.sha256()
    digest.update(json.dumps(canonical, sort_keys=True).encode("utf-8"))
    for name in sorted(members, key=lambda n: _renamed(n, ids)):
        digest.update(f"\n{_renamed(name, ids)}\n".encode())
        digest.update(hashlib.sha256(members[name]).digest())
    return digest.digest()


def _renamed(name: str, ids: dict[str, str]) -> str:
    match = _ID_FILE.match(name)
    if match and match.group(1) in ids:
        return ids[match.group(1)] + ".npy"
    return name
