"""A reproducible digest of an MLflow model folder.

``model_digest`` is the sha256 of a ``sha256sum``-style listing of the folder's files, where
three kinds of file are hashed in a normalised form because MLflow or the serialiser writes
values into them that differ on every run although the model does not:

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
from pathlib import Path
from typing import Any

import yaml

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
