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

from modelci.comparing.decision import Budget, finite
from modelci.comparing.settings import BudgetLimits
from modelci.models.loading import LoadedModel

if TYPE_CHECKING:
    import pandas as pd

WARMUP_CALLS = 3


def judge(
    limits: BudgetLimits,
    candidate: LoadedModel,
    production: LoadedModel | None,
    features: pd.DataFrame,
) -> list[Budget]:
    """The budgets set in ``limits``: the candidate gated, production measured alongside."""
    found: list[Budget] = []
    if limits.max_size_mb is not None:
        size = size_mb(candidate.local_path)
        found.append(
            Budget(
                name="size_mb",
                candidate=round(size, 3),
                production=round(size_mb(production.local_path), 3) if production else None,
                limit=limits.max_size_mb,
                passed=size <= limits.max_size_mb,
            )
        )
    if limits.max_p95_latency_ms is not None:
        samples = limits.latency_samples
        latency = p95_latency_ms(candidate, features, samples)
        found.append(
            Budget(
                name="p95_latency_ms",
                candidate=finite(round(latency, 3)),
                production=(
                    finite(round(p95_latency_ms(production, features, samples), 3))
                    if production
                    else None
                ),
                limit=limits.max_p95_latency_ms,
                passed=latency <= limits.max_p95_latency_ms,
            )
        )
    return found


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
