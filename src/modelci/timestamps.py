"""The one way modelci writes a moment: UTC, to the second, ISO 8601 with a ``Z``."""

from __future__ import annotations

import datetime as dt


def utc_now() -> str:
    """Now, as every record (manifest, registry tags, profiles) writes it."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
