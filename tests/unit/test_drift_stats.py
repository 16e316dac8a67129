"""Each drift statistic against an independent computation on the raw samples (scipy, numpy)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats as sstats
from scipy.spatial import distance

from modelci.drift import stats
from modelci.drift.stats import Ecdf

Sample = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]

# Pairs of (reference, current) samples: continuous, heavy ties, small n, a constant
# column, disjoint supports, and sizes on both sides of scipy's exact/asymptotic KS switch.
CASES: dict[str, Sample] = {
    "normal_shift_large": lambda r: (r.normal(0, 1, 12_000), r.normal(0.1, 1, 15_000)),
    "same_dist_large": lambda r: (r.normal(0, 1, 20_000), r.normal(0, 1, 11_000)),
    "ties_rounded": lambda r: (
        np.round(r.normal(0, 2, 30_000)),
        np.round(r.normal(0.3, 2, 25_000)),
    ),
    "small_n": lambda r: (r.normal(0, 1, 7), r.normal(1, 1, 9)),
    "small_ties": lambda r: (
        r.integers(0, 4, 40).astype(float),
        r.integers(1, 5, 55).astype(float),
    ),
    "exact_mid": lambda r: (r.exponential(1, 3_000), r.exponential(1.2, 4_500)),
    "constant_reference": lambda r: (np.full(500, 3.0), r.normal(3, 1, 600)),
    "disjoint": lambda r: (r.uniform(0, 1, 400), r.uniform(5, 6, 300)),
    "lognormal_wide": lambda r: (r.lognormal(0, 2, 15_000), r.lognormal(0.2, 2, 16_000)),
}


@pytest.fixture(params=sorted(CASES))
def samples(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(sum(map(ord, request.param)))
    return CASES[request.param](rng)


def test_ecdf_compresses_exactly() -> None:
    data = np.array([3.0, 1.0, np.nan, 1.0, np.inf, 2.0, 3.0, 3.0, -np.inf])
    ecdf = Ecdf.from_sample(data)
    assert ecdf.values.tolist() == [1.0, 2.0, 3.0]
    assert ecdf.counts.tolist() == [2, 1, 3]
    assert ecdf.n == 6
    assert ecdf.expand().tolist() == [1.0, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert ecdf.std() == pytest.approx(np.std([1, 1, 2, 3, 3, 3]), abs=1e-15)


def test_ks_pvalue_and_statistic_match_scipy(samples: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = samples
    expected = sstats.ks_2samp(a, b)
    ea, eb = Ecdf.from_sample(a), Ecdf.from_sample(b)
    assert stats.ks_pvalue(ea, eb) == pytest.approx(expected.pvalue, abs=1e-12)
    assert stats.ks_statistic(ea, eb) == pytest.approx(expected.statistic, abs=1e-12)


def test_ks_asymptotic_path_is_bit_identical_to_scipy() -> None:
    rng = np.random.default_rng(7)
    a, b = np.round(rng.normal(0, 1, 40_000), 3), np.round(rng.normal(0.02, 1, 30_000), 3)
    expected = sstats.ks_2samp(a, b)
    ea, eb = Ecdf.from_sample(a), Ecdf.from_sample(b)
    assert max(ea.n, eb.n) > stats.KS_EXACT_MAX_N
    assert stats.ks_statistic(ea, eb) == expected.statistic
    assert stats.ks_pvalue(ea, eb) == expected.pvalue
    assert 0.0 < expected.pvalue < 1.0  # the case is not trivially saturated


def test_wasserstein_matches_scipy(samples: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = samples
    ea, eb = Ecdf.from_sample(a), Ecdf.from_sample(b)
    expected = sstats.wasserstein_distance(a, b)
    assert stats.wasserstein(ea, eb) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    norm = max(float(np.std(a)), 0.001)
    assert stats.wasserstein_norm(ea, eb) == pytest.approx(expected / norm, rel=1e-9, abs=1e-12)


def test_wasserstein_of_constant_reference_uses_floor() -> None:
    ea, eb = Ecdf.from_sample(np.full(10, 2.0)), Ecdf.from_sample(np.full(10, 2.5))
    # std 0 is floored at 0.001, as Evidently does: 0.5 / 0.001
    assert stats.wasserstein_norm(ea, eb) == pytest.approx(500.0)


def test_histogram_matches_numpy(samples: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = samples
    combined = np.concatenate([a, b])
    ea, eb = Ecdf.from_sample(a), Ecdf.from_sample(b)
    for bins in ("sturges", 10, 37):
        edges = np.histogram_bin_edges(combined, bins=bins)
        ours = stats.bin_edges(ea, eb, bins)
        np.testing.assert_array_equal(ours, edges)
        np.testing.assert_array_equal(stats.histogram(ea, ours), np.histogram(a, edges)[0])
        np.testing.assert_array_equal(stats.histogram(eb, ours), np.histogram(b, edges)[0])


def test_sturges_on_integers_keeps_unit_width() -> None:
    a = np.arange(0, 22, dtype=np.int64).repeat(100)
    b = np.arange(1, 23, dtype=np.int64).repeat(100)
    edges = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
    ea = Ecdf.from_sample(a, integer=True)
    eb = Ecdf.from_sample(b, integer=True)
    np.testing.assert_array_equal(stats.bin_edges(ea, eb, "sturges"), edges)


def _independent_psi(ref: np.ndarray, cur: np.ndarray) -> float:
    """PSI written out from Evidently's description, one bin at a time."""
    r, c = ref / ref.sum(), cur / cur.sum()

    def fill(p: np.ndarray) -> np.ndarray:
        small = min(x for x in p if x != 0)
        sub = small / 1e6 if small <= 1e-4 else 1e-4
        return np.array([sub if x == 0 else x for x in p])

    r, c = fill(r), fill(c)
    return float(sum((ri - ci) * math.log(ri / ci) for ri, ci in zip(r, c, strict=True)))


def test_psi_and_jensenshannon_on_binned_numeric(samples: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = samples
    ea, eb = Ecdf.from_sample(a), Ecdf.from_sample(b)
    ref_counts, cur_counts = stats.numeric_counts(ea, eb, "sturges")
    if ea.values.size > stats.VALUE_BINNED_MAX_UNIQUE:
        edges = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
        expect_r, expect_c = np.histogram(a, edges)[0], np.histogram(b, edges)[0]
    else:
        keys = sorted(set(a.tolist()) | set(b.tolist()))
        expect_r = np.array([(a == k).sum() for k in keys])
        expect_c = np.array([(b == k).sum() for k in keys])
    np.testing.assert_array_equal(ref_counts, expect_r)
    np.testing.assert_array_equal(cur_counts, expect_c)
    assert stats.psi(ref_counts, cur_counts) == pytest.approx(
        _independent_psi(expect_r, expect_c), rel=1e-9, abs=1e-12
    )
    js = distance.jensenshannon(expect_r / len(a), expect_c / len(b))
    assert stats.jensenshannon(ref_counts, cur_counts) == pytest.approx(js, rel=1e-9, abs=1e-12)


def test_categorical_stats_with_one_sided_categories() -> None:
    ref = np.array([500, 300, 200, 0])  # "d" only in current
    cur = np.array([400, 0, 250, 50])  # "b" only in reference
    assert stats.chi2_pvalue(ref, cur) == 0.0  # new category: expected 0, statistic infinite
    assert stats.psi(ref, cur) == pytest.approx(_independent_psi(ref, cur), rel=1e-12)
    assert stats.jensenshannon(ref, cur) == pytest.approx(
        distance.jensenshannon(ref / ref.sum(), cur / cur.sum()), rel=1e-12
    )


def test_chi2_matches_scipy_chisquare() -> None:
    ref = np.array([120, 340, 95, 445])
    cur = np.array([130, 320, 110, 400])
    expected = sstats.chisquare(cur, ref * cur.sum() / ref.sum()).pvalue
    assert stats.chi2_pvalue(ref, cur) == pytest.approx(expected, rel=1e-12)
    assert 0.01 < expected < 0.99


def test_chi2_single_category_is_no_drift() -> None:
    assert stats.chi2_pvalue(np.array([10]), np.array([7])) == 1.0


def test_identical_distributions_give_null_values() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 5_000)
    ea = Ecdf.from_sample(a)
    assert stats.ks_pvalue(ea, ea) == 1.0
    assert stats.wasserstein(ea, ea) == 0.0
    counts, _ = stats.numeric_counts(ea, ea, 10)
    assert stats.psi(counts, counts) == 0.0
    assert stats.jensenshannon(counts, counts) == 0.0


def test_homogeneity_pvalue_matches_scipy_contingency() -> None:
    a = np.array([30, 50, 20, 0], np.int64)
    b = np.array([25, 40, 30, 0], np.int64)  # an empty bin on both sides is dropped
    expected = sstats.chi2_contingency(np.vstack((a[:3], b[:3])), correction=False).pvalue
    assert stats.homogeneity_pvalue(a, b) == pytest.approx(expected, rel=1e-12)
    assert stats.homogeneity_pvalue(np.array([5], np.int64), np.array([9], np.int64)) == 1.0
    # a category only one side has is evidence, not an infinite statistic
    assert 0 < stats.homogeneity_pvalue(np.array([50, 50, 0]), np.array([50, 48, 2])) < 1
