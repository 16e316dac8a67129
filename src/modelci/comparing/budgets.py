"""Budgets a candidate must fit: model size on disk and p95 single-row predict latency.

Latency is measured the way an online service calls a model: one row per ``predict``,
after a short warm-up, over rows of the evaluation set. Both models are timed on this
machine in the same run, so the production number is a like-for-like reference.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from modelci.comparing.evaluate import LoadedModel

if TYPE_CHECKING:
    import pandas as pd

WARMUP_CALLS = 3


def size_mb(path: Path) -> float:
    """Bytes of every file under the model folder, in MB (10^6 bytes)."""
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def p95_latency_ms(model: LoadedModel, features: pd.DataFrame, samples: int) -> float:
    columns = model.features or list(features.columns)
    frame = features[columns]
    count = min(samples, len(frame))
    if count == 0:
        return float("nan")
    rows = [frame.iloc[[i]] for i in range(count)]
    for row in rows[:WARMUP_CALLS]:
        model.model.predict(row)
    timings = np.empty(count)
    for i, row in enumerate(rows):
        start = time.perf_counter()
        model.model.predict(row)
        timings[i] = time.perf_counter() - start
    return float(np.percentile(timings, 95) * 1000.0)
