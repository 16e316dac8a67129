"""Which versions served behind an alias, kept as a tag on each version.

Rollback means rollback: ``promote --version N`` puts back a version that served behind the
alias before (or one with a passed compare verdict). modelci appends one line per change to
``modelci.history.<alias>`` on the versions involved, including the version that was there
before modelci first moved the alias (set by hand, say), so every version that ever served
is known by the registry itself.
"""

from __future__ import annotations

from modelci.registry import tags
from modelci.registry.client import VersionRef

#: MLflow's limit for a model version tag value is 5000 characters; keep the newest lines
MAX_CHARS = 4000


def served(version: VersionRef, alias: str) -> bool:
    """True when ``version`` was behind ``alias`` at some time modelci saw."""
    return bool(version.tags.get(tags.history(alias)))


def appended(version: VersionRef, alias: str, line: str) -> str:
    """The version's history with ``line`` added, trimmed to the newest lines that fit."""
    old = version.tags.get(tags.history(alias), "")
    lines = [*filter(None, old.split("\n")), line]
    while len("\n".join(lines)) > MAX_CHARS and len(lines) > 1:
        lines.pop(0)
    return "\n".join(lines)
