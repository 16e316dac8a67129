"""The drift statistics, computed from compressed samples so a saved profile gives exact values.

A numeric sample is held as its exact empirical distribution: sorted unique values and
their counts (``Ecdf``). A categorical sample is a vector of counts over aligned keys.
Every function reproduces the arithmetic Evidently 0.7 uses (through scipy and numpy) so
values agree with it to rounding; docs/drift.md gives each formula and the few edge cases
where modelci answers differently on purpose.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Bins = int | Literal["sturges"]

#: Evidently bins a numeric column by value, not by range, when the reference has at most
#: this many distinct values (its ``get_binned_data``); we follow it so PSI/JS agree.
VALUE_BINNED_MAX_UNIQUE = 20
#: scipy's ks_2samp(method="auto") is exact up to this sample size, asymptotic above.
KS_EXACT_MAX_N = 10_000
#: Evidently's floor for the Wasserstein normaliser, so a constant reference cannot divide by 0.
WASSERSTEIN_MIN_STD = 0.001


@dataclass(frozen=True)
class Ecdf:
    """An exact compressed sample: sorted unique finite values and how often each occurs."""

    values: FloatArray
    counts: IntArray
    #: the source column held integers: numpy's "sturges" widens integer bins to >= 1
    integer: bool = False

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @classmethod
    def from_sample(cls, sample: NDArray[np.generic], *, integer: bool = False) -> Ecdf:
        """Compress a 1-D sample; NaN and ±inf are dropped (they are not part of a distribution)."""
        data = np.asarray(sample, dtype=np.float64)
        data = data[np.isfinite(data)]
        # One sort, then run-length encoding: the whole cost of profiling a numeric column.
        data.sort()
        if data.size == 0:
            return cls(np.empty(0, np.float64), np.empty(0, np.int64), integer)
        starts = np.flatnonzero(np.concatenate(([True], data[1:] != data[:-1])))
        counts = np.diff(np.append(starts, data.size)).astype(np.int64)
        return cls(data[starts], counts, integer)

    def std(self) -> float:
        """Population standard deviation (numpy's default ddof=0, as Evidently uses)."""
        n = self.n
        if n == 0:
            return math.nan
        mean = float(np.dot(self.values, self.counts)) / n
        dev = self.values - mean
        return math.sqrt(float(np.dot(dev * dev, self.counts)) / n)

    def expand(self) -> FloatArray:
        """The raw sorted sample back (only used for small samples)."""
        return np.repeat(self.values, self.counts)


@dataclass(frozen=True)
class CdfPair:
    """Two ECDFs side by side at every distinct value of either sample, in sorted order.

    ``diff`` is F_ref − F_cur at each point, each F formed as ``count / n`` exactly as scipy
    forms it, so the KS statistic is bit-identical to scipy's. A value present on both
    sides appears twice (delta 0 between the two), which changes neither sup nor integral.
    """

    points: FloatArray
    diff: FloatArray

    @classmethod
    def of(cls, a: Ecdf, b: Ecdf) -> CdfPair:
        # Merge two sorted unique arrays with two binary searches instead of a sort:
        # a value's rank in the merge is its own index plus how many of the other side
        # precede it (ties put ``a`` first).
        a_right = np.searchsorted(b.values, a.values, side="right")  # b <= a[i]
        b_right = np.searchsorted(a.values, b.values, side="right")  # a <= b[j]
        cum_a = np.concatenate(([0], np.cumsum(a.counts)))
        cum_b = np.concatenate(([0], np.cumsum(b.counts)))
        n_a, n_b = a.n, b.n
        tie = np.zeros(a.values.size, dtype=bool)
        hit = a_right > 0
        tie[hit] = b.values[a_right[hit] - 1] == a.values[hit]
        pos_a = np.arange(a.values.size) + a_right - tie
        pos_b = np.arange(b.values.size) + b_right
        size = a.values.size + b.values.size
        points = np.empty(size, np.float64)
        points[pos_a] = a.values
        points[pos_b] = b.values
        diff = np.empty(size, np.float64)
        diff[pos_a] = cum_a[1:] / n_a - cum_b[a_right] / n_b
        diff[pos_b] = cum_a[b_right] / n_a - cum_b[1:] / n_b
        return cls(points, diff)

    def ks_statistic(self) -> float:
        """Two-sample Kolmogorov–Smirnov D = sup |F_ref − F_cur|."""
        return float(max(np.max(self.diff), np.clip(-np.min(self.diff), 0, 1)))

    def wasserstein(self) -> float:
        """Wasserstein-1 distance: ∫ |F_ref − F_cur| dx."""
        return float(np.sum(np.abs(self.diff[:-1]) * np.diff(self.points)))


def ks_statistic(reference: Ecdf, current: Ecdf) -> float:
    """Two-sample Kolmogorov–Smirnov D = sup |F_ref − F_cur|."""
    return CdfPair.of(reference, current).ks_statistic()


def ks_pvalue(reference: Ecdf, current: Ecdf, pair: CdfPair | None = None) -> float:
    """Two-sided p-value of scipy.stats.ks_2samp(reference, current) with method="auto"."""
    from scipy import stats

    n1, n2 = reference.n, current.n
    if max(n1, n2) <= KS_EXACT_MAX_N:
        # Small samples: scipy's exact path, on the expanded samples, is the reference.
        result = stats.ks_2samp(reference.expand(), current.expand())
        return float(result.pvalue)
    d = (pair or CdfPair.of(reference, current)).ks_statistic()
    # Smirnov's asymptotic distribution, with the effective n rounded, as scipy does.
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))


def wasserstein(reference: Ecdf, current: Ecdf, pair: CdfPair | None = None) -> float:
    """Wasserstein-1 distance (scipy.stats.wasserstein_distance on the raw samples)."""
    return (pair or CdfPair.of(reference, current)).wasserstein()


def wasserstein_norm(
    reference: Ecdf,
    current: Ecdf,
    reference_std: float | None = None,
    pair: CdfPair | None = None,
) -> float:
    """Wasserstein-1 divided by the reference std (floored at 0.001), as Evidently does."""
    std = reference.std() if reference_std is None else reference_std
    return wasserstein(reference, current, pair) / max(std, WASSERSTEIN_MIN_STD)


def bin_edges(reference: Ecdf, current: Ecdf, bins: Bins) -> FloatArray:
    """Equal-width edges over the combined range, as np.histogram_bin_edges(combined, bins)."""
    first = float(min(reference.values[0], current.values[0]))
    last = float(max(reference.values[-1], current.values[-1]))
    integer = reference.integer and current.integer
    if bins == "sturges":
        total = reference.n + current.n
        width = (last - first) / (np.log2(total) + 1.0)
        if width:
            if integer and width < 1:
                width = 1.0
            count = int(np.ceil((last - first) / width))
        else:
            count = 1
    else:
        count = int(bins)
    if first == last:
        first, last = first - 0.5, last + 0.5
    return np.linspace(first, last, count + 1, endpoint=True, dtype=np.float64)


def histogram(sample: Ecdf, edges: FloatArray) -> IntArray:
    """Counts per bin, as np.histogram(sample, edges): [e_i, e_i+1), the last bin closed."""
    cum = np.concatenate(([0], np.cumsum(sample.counts)))
    below = cum[np.searchsorted(sample.values, edges[:-1], side="left")]
    upto_last = cum[np.searchsorted(sample.values, edges[-1:], side="right")]
    return np.diff(np.concatenate((below, upto_last))).astype(np.int64)


def numeric_counts(reference: Ecdf, current: Ecdf, bins: Bins) -> tuple[IntArray, IntArray]:
    """The two count vectors PSI and Jensen–Shannon compare for a numeric column.

    Few distinct reference values: one bin per distinct value of either side (Evidently's
    rule); otherwise equal-width bins over the combined range.
    """
    if reference.values.size <= VALUE_BINNED_MAX_UNIQUE:
        keys = np.union1d(reference.values, current.values)
        return _counts_at(reference, keys), _counts_at(current, keys)
    edges = bin_edges(reference, current, bins)
    return histogram(reference, edges), histogram(current, edges)


def _counts_at(sample: Ecdf, keys: FloatArray) -> IntArray:
    pos = np.searchsorted(sample.values, keys, side="left")
    inside = pos < sample.values.size
    found = np.zeros(keys.size, dtype=bool)
    found[inside] = sample.values[pos[inside]] == keys[inside]
    out = np.zeros(keys.size, dtype=np.int64)
    out[found] = sample.counts[pos[found]]
    return out


def _fill_zeros(percents: FloatArray) -> FloatArray:
    """Evidently's replacement of empty bins, so PSI stays finite.

    An empty bin gets min(non-zero share)/1e6 when that minimum is <= 1e-4, else 1e-4.
    The shares are not renormalised afterwards (neither are Evidently's).
    """
    out = percents.copy()
    nonzero = out[out != 0]
    if nonzero.size == 0:
        return out
    smallest = float(nonzero.min())
    out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def psi(reference_counts: IntArray, current_counts: IntArray) -> float:
    """Population stability index: Σ (r − c) · ln(r / c) over bins, shares zero-filled."""
    r = _fill_zeros(reference_counts / reference_counts.sum())
    c = _fill_zeros(current_counts / current_counts.sum())
    return float(np.sum((r - c) * np.log(r / c)))


def jensenshannon(reference_counts: IntArray, current_counts: IntArray) -> float:
    """Jensen–Shannon distance (natural log): sqrt of the JS divergence, no zero filling."""
    from scipy.special import rel_entr

    p = reference_counts / reference_counts.sum()
    q = current_counts / current_counts.sum()
    # scipy.spatial.distance.jensenshannon renormalises its inputs; do the same divisions.
    p = p / np.sum(p)
    q = q / np.sum(q)
    m = (p + q) / 2.0
    divergence = float(np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m)))
    return math.sqrt(max(divergence, 0.0) / 2.0)


def homogeneity_pvalue(reference_counts: IntArray, current_counts: IntArray) -> float:
    """Pearson chi-square test that two samples come from one distribution (2 x k table).

    Unlike :func:`chi2_pvalue` (Evidently's goodness of fit, which takes the reference
    shares as exact), both samples carry sampling noise here, so two halves of one dataset
    get a uniformly distributed p-value. Bins empty on both sides are dropped; one bin left
    leaves nothing to test (p = 1).
    """
    from scipy import stats

    table = np.vstack((reference_counts, current_counts)).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] <= 1 or table[0].sum() == 0 or table[1].sum() == 0:
        return 1.0
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return float(stats.chi2.sf(statistic, table.shape[1] - 1))


def chi2_pvalue(reference_counts: IntArray, current_counts: IntArray) -> float:
    """Pearson chi-square goodness of fit of current counts to reference shares.

    Expected = reference count × n_cur / n_ref, as Evidently builds it; a category absent
    from the reference but present now makes the statistic infinite and the p-value 0.
    One category on both sides leaves nothing to test: p = 1 (scipy would give NaN).
    """
    from scipy import stats

    if reference_counts.size <= 1:
        return 1.0
    expected = reference_counts * (current_counts.sum() / reference_counts.sum())
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.chisquare(current_counts, expected)
    return float(result.pvalue)
