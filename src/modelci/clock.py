"""The one way modelci writes a time: UTC, to the second, ISO 8601 with a Z."""

from __future__ import annotations

import datetime as dt


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
