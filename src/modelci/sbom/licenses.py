"""Licenses of the model's runtime distributions, from this machine's installed metadata.

A license is taken only from a distribution installed here at the very version the model
pins: another version may be under another license. Otherwise it stays unknown, and the
documents say nothing rather than guess (no registry is asked: the step runs offline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.metadata import PackageMetadata


#: a License field longer than this is the license's text, not its name
_NAME_LIMIT = 100


def installed(name: str, version: str) -> str | None:
    """The declared license of distribution ``name`` if version ``version`` is installed:
    its ``License-Expression`` (PEP 639), else a short ``License`` field, else the last
    part of its ``License ::`` classifier; None when unknown."""
    from importlib import metadata

    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    if distribution.version != version:
        return None
    return declared(distribution.metadata)


def declared(meta: PackageMetadata) -> str | None:
    """The license a distribution's core metadata declares, or None."""
    expression = _field(meta, "License-Expression")
    if expression:
        return expression
    field = _field(meta, "License")
    if field and "\n" not in field and len(field) <= _NAME_LIMIT and field.upper() != "UNKNOWN":
        return field
    for classifier in meta.get_all("Classifier") or []:
        parts = [str(part).strip() for part in str(classifier).split("::")]
        if parts[0] == "License" and len(parts) > 1 and parts[-1] != "OSI Approved":
            return parts[-1]
    return None


def _field(meta: PackageMetadata, name: str) -> str:
    values = meta.get_all(name) or []
    return str(values[0]).strip() if values else ""
