"""One line saying how a model differs from what was signed."""

from __future__ import annotations

from collections.abc import Mapping

_SHOWN = 3


def describe_changes(signed: Mapping[str, str], actual: Mapping[str, str]) -> str:
    """``changed a; added b; removed c; renamed d -> e`` for two ``{path: sha256}`` maps."""
    changed = sorted(n for n in signed.keys() & actual.keys() if signed[n] != actual[n])
    added = sorted(actual.keys() - signed.keys())
    removed = sorted(signed.keys() - actual.keys())
    renamed: list[str] = []
    for old in list(removed):
        new = next((n for n in added if actual[n] == signed[old]), None)
        if new is not None:
            renamed.append(f"{old} -> {new}")
            removed.remove(old)
            added.remove(new)
    parts = [
        f"{label} {_listed(names)}"
        for label, names in (
            ("changed", changed),
            ("added", added),
            ("removed", removed),
            ("renamed", renamed),
        )
        if names
    ]
    return "; ".join(parts) if parts else "no file differs"


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown if len(names) <= _SHOWN else f"{shown} (+{len(names) - _SHOWN} more)"
