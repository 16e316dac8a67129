"""The compare decision as promote reads it back: strictly typed, and hashed as written.

``decision.json`` travels in the run folder, where anyone who can write the artifact can
edit it, so nothing here is taken loosely: ``passed`` must be JSON ``true`` or ``false``
(``"false"`` is not false-y enough to trust), versions and digests must be strings, and the
file's sha256 is what the registry's record of the verdict must name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelci.errors import GateFailed


@dataclass(frozen=True)
class Side:
    """One model of the comparison as the decision names it."""

    name: str | None
    version: str | None
    digest: str | None


@dataclass(frozen=True)
class Verdict:
    passed: bool
    summary: str
    candidate: Side
    #: ``None``: there was no production model to compare with
    production: Side | None
    alias: str | None
    #: ``sha256:<hex>`` of the decision file's bytes
    sha256: str


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_verdict(path: Path) -> Verdict:
    """The decision at ``path``; a missing, unreadable or ill-typed one refuses the gate."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GateFailed(
            f"not promoting: {path}: no readable compare decision ({exc.strerror}); "
            "run `modelci compare` first"
        ) from None
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise GateFailed(f"not promoting: {path}: not a JSON compare decision") from None
    if not isinstance(raw, dict):
        raise GateFailed(f"not promoting: {path}: not a JSON compare decision")
    passed = raw.get("passed")
    if not isinstance(passed, bool):
        raise GateFailed(
            f"not promoting: {path}: 'passed' must be JSON true or false, not {passed!r}"
        )
    production = raw.get("production")
    return Verdict(
        passed=passed,
        summary=_text(raw, "summary", path) or "",
        candidate=_side(raw.get("candidate"), "candidate", path),
        production=None if production is None else _side(production, "production", path),
        alias=_text(production, "alias", path) if isinstance(production, dict) else None,
        sha256=sha256_of(data),
    )


def _side(raw: Any, key: str, path: Path) -> Side:
    if not isinstance(raw, dict):
        raise GateFailed(f"not promoting: {path}: {key!r} must be a JSON object")
    return Side(
        name=_text(raw, "name", path, key),
        version=_text(raw, "version", path, key),
        digest=_text(raw, "digest", path, key),
    )


def _text(raw: Mapping[str, Any], key: str, path: Path, parent: str = "") -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    where = f"{parent}.{key}" if parent else key
    raise GateFailed(f"not promoting: {path}: {where!r} must be a string, not {value!r}")
