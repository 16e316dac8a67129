"""Drift of a dataset against a reference, for the validate-data step.

The reference is reduced once to a :class:`Profile` (exact per-column distributions) that
can be saved and reused without the raw reference data; :func:`detect_drift` compares a
current pyarrow Table with it. See docs/drift.md for the statistics and conventions.
"""

from __future__ import annotations

from modelci.drift.detect import ColumnDrift, DriftReport, DriftScope, detect_drift
from modelci.drift.profile import (
    SUFFIX,
    ColumnProfile,
    Profile,
    build_profile,
    is_profile,
    load_profile,
    save_profile,
)

__all__ = [
    "SUFFIX",
    "ColumnDrift",
    "ColumnProfile",
    "DriftReport",
    "DriftScope",
    "Profile",
    "build_profile",
    "detect_drift",
    "is_profile",
    "load_profile",
    "save_profile",
]
