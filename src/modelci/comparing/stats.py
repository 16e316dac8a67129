"""Paired bootstrap of a metric difference, and McNemar's test on paired correctness.

Both models are scored on the SAME resampled rows in every resample, so the noise that comes
from which rows happen to be in the evaluation set cancels out of the difference: only the
disagreement between the two models is left to vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from modelci.comparing.decision import McNemar
from modelci.metrics import Metric, Predictions

if TYPE_CHECKING:
    from modelci.metrics import FloatArray

#: cells of the index matrix drawn at once; bounds memory at a few tens of MB
_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class Interval:
    """Bootstrap distribution of ``candidate - production`` (raw metric units)."""

    low: float
    high: float
    confidence: float
    resamples: int
    #: resamples where the metric was undefined (e.g. one class absent) and were left out
    undefined: int = 0


def resample_weights(n: int, count: int, rng: np.random.Generator) -> FloatArray:
    """``count`` bootstrap resamples of ``n`` rows as multiplicities, shape (count, n)."""
    idx = rng.integers(0, n, size=(count, n))
    offsets = (np.arange(count) * n)[:, None]
    flat = np.bincount((idx + offsets).ravel(), minlength=count * n)
    return flat.reshape(count, n).astype(np.float64)


def paired_differences(
    metrics: list[Metric],
    candidate: Predictions,
    production: Predictions,
    *,
    resamples: int,
    seed: int,
) -> dict[str, FloatArray]:
    """Bootstrap ``candidate - production`` for each metric over the same resampled rows.

    Every metric sees the same resamples, so their intervals describe one set of draws.
    """
    n = len(candidate)
    if n != len(production):
        raise ValueError("candidate and production must be scored on the same rows")
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    parts: dict[str, list[FloatArray]] = {m.name: [] for m in metrics}
    done = 0
    while done < resamples:
        count = min(chunk, resamples - done)
        weights = resample_weights(n, count, rng)
        for metric in metrics:
            parts[metric.name].append(
                metric.fn(candidate, weights) - metric.fn(production, weights)
            )
        done += count
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def percentile_interval(diff: FloatArray, confidence: float) -> Interval:
    """Two-sided percentile interval; undefined resamples are counted and left out."""
    finite = diff[np.isfinite(diff)]
    if finite.size == 0:
        return Interval(math.nan, math.nan, confidence, int(diff.size), int(diff.size))
    alpha = 1.0 - confidence
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return Interval(
        float(low), float(high), confidence, int(diff.size), int(diff.size - finite.size)
    )


def paired_bootstrap(
    metric: Metric,
    candidate: Predictions,
    production: Predictions,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> Interval:
    """Two-sided percentile interval of one metric's difference over paired resamples."""
    diffs = paired_differences([metric], candidate, production, resamples=resamples, seed=seed)
    return percentile_interval(diffs[metric.name], confidence)


def mcnemar(candidate_correct: FloatArray, production_correct: FloatArray) -> McNemar:
    """Exact binomial test for few discordant rows, chi-square with continuity otherwise."""
    from scipy import stats

    cand = candidate_correct.astype(bool)
    prod = production_correct.astype(bool)
    b = int(np.sum(cand & ~prod))
    c = int(np.sum(~cand & prod))
    if b + c == 0:
        return McNemar(b, c, 1.0, "none disagree")
    if b + c < 25:
        p = float(stats.binomtest(b, b + c, 0.5).pvalue)
        return McNemar(b, c, min(1.0, p), "exact")
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return McNemar(b, c, float(stats.chi2.sf(statistic, df=1)), "chi-square")
