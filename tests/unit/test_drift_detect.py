"""detect_drift: verdicts, settings, edge columns, and the Checks handed to the step."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from scipy import stats as sstats
from scipy.spatial import distance

from modelci.drift import ColumnDrift, DriftReport, build_profile, detect_drift
from modelci.drift.detect import DriftScope, expected_text, flags
from modelci.errors import ConfigError

DEFAULTS = {
    "enabled": True,
    "share": 0.5,
    "fail": True,
    "bins": 10,
    "numeric": {"wasserstein": 0.1, "psi": 0.2},
    "categorical": {"jensenshannon": 0.1, "psi": 0.2},
    "columns": {},
}
ROWS = 3_000


def _pair(seed: int = 5) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    colours = ["red", "green", "blue"]
    ref = pa.table(
        {
            "same": rng.normal(0, 1, ROWS),
            "shifted": rng.normal(0, 1, ROWS),
            "cat_same": rng.choice(colours, ROWS),
            "cat_shifted": rng.choice(colours, ROWS, p=[0.6, 0.3, 0.1]),
        }
    )
    cur = pa.table(
        {
            "same": rng.normal(0, 1, ROWS),
            "shifted": rng.normal(1.5, 1, ROWS),
            "cat_same": rng.choice(colours, ROWS),
            "cat_shifted": rng.choice(colours, ROWS, p=[0.1, 0.3, 0.6]),
        }
    )
    return ref, cur


def _by_column(report: DriftReport) -> dict[str, ColumnDrift]:
    return {c.column: c for c in report.columns}


def test_shifted_columns_drift_and_identical_ones_do_not() -> None:
    ref, cur = _pair()
    report = detect_drift(build_profile(ref), cur, DEFAULTS)
    cols = _by_column(report)
    assert cols["shifted"].drifted and cols["cat_shifted"].drifted
    assert set(cols["shifted"].methods_flagged) == {"wasserstein", "psi"}
    assert not cols["same"].drifted and not cols["cat_same"].drifted
    assert report.share == 0.5
    assert report.dataset_drift  # 2 of 4 >= 0.5
    assert report.drifted_columns == ["shifted", "cat_shifted"]

    same = detect_drift(build_profile(ref), ref, DEFAULTS)
    assert same.share == 0.0
    assert not same.dataset_drift
    for col in same.columns:
        assert col.stats["psi"] == 0.0
        assert col.stats.get("wasserstein", 0.0) == 0.0


def test_values_match_scipy_on_raw_columns() -> None:
    ref, cur = _pair()
    settings = {
        **DEFAULTS,
        "numeric": {"ks": 0.05, "wasserstein": 0.1},
        "categorical": {"chi2": 0.05, "jensenshannon": 0.1},
    }
    report = detect_drift(build_profile(ref), cur, settings)
    cols = _by_column(report)
    a, b = ref.column("shifted").to_numpy(), cur.column("shifted").to_numpy()
    shifted = cols["shifted"]
    assert shifted.stats["ks"] == pytest.approx(sstats.ks_2samp(a, b).pvalue, abs=1e-12)
    assert shifted.stats["wasserstein"] == pytest.approx(
        sstats.wasserstein_distance(a, b) / np.std(a), rel=1e-9
    )
    r = ref.column("cat_shifted").to_pylist()
    c = cur.column("cat_shifted").to_pylist()
    keys = ["red", "green", "blue"]
    rc = np.array([r.count(k) for k in keys])
    cc = np.array([c.count(k) for k in keys])
    cat = cols["cat_shifted"]
    assert cat.stats["chi2"] == pytest.approx(
        sstats.chisquare(cc, rc * len(c) / len(r)).pvalue, abs=1e-12
    )
    assert cat.stats["jensenshannon"] == pytest.approx(
        distance.jensenshannon(rc / len(r), cc / len(c)), rel=1e-9
    )


def test_same_input_same_output() -> None:
    ref, cur = _pair()
    first = detect_drift(build_profile(ref), cur, DEFAULTS)
    second = detect_drift(build_profile(ref), cur, DEFAULTS)
    assert [(c.column, c.stats, c.drifted) for c in first.columns] == [
        (c.column, c.stats, c.drifted) for c in second.columns
    ]
    # Row order does not matter: the distributions are the same.
    shuffled = cur.take(np.random.default_rng(1).permutation(cur.num_rows))
    third = detect_drift(build_profile(ref), shuffled, DEFAULTS)
    assert [c.stats for c in third.columns] == [c.stats for c in first.columns]


@pytest.mark.parametrize(("share", "dataset_drift"), [(0.5, True), (0.51, False), (0.25, True)])
def test_share_rule(share: float, dataset_drift: bool) -> None:
    ref, cur = _pair()
    report = detect_drift(build_profile(ref), cur, {**DEFAULTS, "share": share})
    assert report.share == 0.5
    assert report.dataset_drift is dataset_drift


def test_threshold_conventions_follow_evidently() -> None:
    assert flags("ks", 0.05, 0.05)  # Evidently: p <= threshold
    assert not flags("chi2", 0.05, 0.05)  # Evidently: p < threshold
    assert flags("chi2", 0.0499, 0.05)
    for method in ("psi", "wasserstein", "jensenshannon"):
        assert flags(method, 0.2, 0.2)  # value >= threshold
        assert not flags(method, 0.1999, 0.2)
    assert not flags("psi", math.nan, 0.2)
    assert expected_text("ks", 0.05) == "p > 0.05"
    assert expected_text("chi2", 0.05) == "p >= 0.05"
    assert expected_text("psi", 0.2) == "< 0.2"


def test_column_overrides_and_skips() -> None:
    ref, cur = _pair()
    settings = {
        **DEFAULTS,
        "columns": {"shifted": False, "cat_shifted": {"chi2": 0.01}, "same": {"ks": 0.05}},
    }
    report = detect_drift(build_profile(ref), cur, settings)
    cols = _by_column(report)
    assert "shifted" not in cols
    assert report.skipped == {"shifted": "turned off in validate.drift.columns"}
    assert list(cols["cat_shifted"].stats) == ["chi2"]
    assert cols["cat_shifted"].stats["chi2"] < 1e-10
    assert list(cols["same"].stats) == ["ks"]
    assert report.share == pytest.approx(1 / 3)


def test_unknown_override_column_names_the_key() -> None:
    ref, cur = _pair()
    with pytest.raises(ConfigError, match=r"validate\.drift\.columns\.nope: column 'nope'"):
        detect_drift(build_profile(ref), cur, {**DEFAULTS, "columns": {"nope": {"psi": 0.2}}})


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"columns": {"shifted": {"chi2": 0.05}}}, r"validate\.drift\.columns\.shifted\.chi2"),
        ({"columns": {"cat_same": {"ks": 0.05}}}, r"validate\.drift\.columns\.cat_same\.ks"),
        ({"numeric": {"ks": 1.5}}, r"validate\.drift\.numeric\.ks"),
        ({"numeric": {}}, r"validate\.drift\.numeric"),
        ({"categorical": {"psi": "high"}}, r"validate\.drift\.categorical\.psi"),
        ({"bins": 1}, r"validate\.drift\.bins"),
        ({"share": 0}, r"validate\.drift\.share"),
    ],
)
def test_bad_settings_are_config_errors(settings: dict[str, object], key: str) -> None:
    ref, cur = _pair()
    with pytest.raises(ConfigError, match=key):
        detect_drift(build_profile(ref), cur, {**DEFAULTS, **settings})


def test_missing_extra_and_retyped_columns() -> None:
    ref, cur = _pair()
    cur = cur.drop_columns(["cat_same"]).append_column("extra", pa.array(np.zeros(ROWS)))
    # "same" arrives as text holding the same numbers: compared as numeric, like the reference.
    same_text = pa.array(ref.column("same").to_numpy()).cast(pa.string())
    cur = cur.set_column(cur.column_names.index("same"), "same", same_text)
    report = detect_drift(build_profile(ref), cur, DEFAULTS)
    cols = _by_column(report)
    assert report.skipped == {"cat_same": "not in the current data"}
    assert "extra" not in cols
    assert cols["same"].kind == "numeric"
    assert cols["same"].stats["wasserstein"] == 0.0
    assert not cols["same"].drifted


def test_unreadable_current_type_counts_as_drifted() -> None:
    ref, _ = _pair()
    cur = pa.table({"same": pa.array(["n/a", "oops"] * 10)})
    report = detect_drift(build_profile(ref.select(["same"])), cur, DEFAULTS)
    (col,) = report.columns
    assert col.drifted
    assert "cannot be read as numeric" in col.note
    assert all(math.isnan(v) for v in col.stats.values())


def test_all_null_current_column_counts_as_drifted() -> None:
    ref, _ = _pair()
    cur = pa.table(
        {
            "same": pa.array([None] * 10, pa.float64()),
            "cat_same": pa.array([None] * 10, pa.string()),
        }
    )
    report = detect_drift(build_profile(ref.select(["same", "cat_same"])), cur, DEFAULTS)
    for col in report.columns:
        assert col.drifted
        assert col.current_count == 0
        assert col.current_nulls == 10
        assert "no non-null values in the current data" in col.note
    assert report.dataset_drift


def test_null_on_both_sides_is_not_drift() -> None:
    table = pa.table({"x": pa.array([None, None], pa.float64())})
    report = detect_drift(build_profile(table), table, DEFAULTS)
    assert not report.columns[0].drifted
    assert "either side" in report.columns[0].note


def test_nulls_are_excluded_from_distributions() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(0, 1, 2_000)
    with_nulls = pa.array(np.concatenate([values, [np.nan] * 300, [np.inf]]))
    report = detect_drift(
        build_profile(pa.table({"x": values})), pa.table({"x": with_nulls}), DEFAULTS
    )
    (col,) = report.columns
    assert col.stats == {"wasserstein": 0.0, "psi": 0.0}
    assert col.current_nulls == 301
    assert not col.drifted


def test_low_cardinality_numeric_is_binned_by_value() -> None:
    ref = pa.table({"k": pa.array([1, 2, 3] * 100)})
    cur = pa.table({"k": pa.array([1, 2, 3, 4] * 75)})
    report = detect_drift(build_profile(ref), cur, {**DEFAULTS, "numeric": {"psi": 0.2}})
    r = np.array([100, 100, 100, 0]) / 300
    c = np.array([75, 75, 75, 75]) / 300
    r[r == 0] = 0.0001  # Evidently's fill for an empty bin (smallest share > 1e-4)
    expected = float(np.sum((r - c) * np.log(r / c)))
    assert report.columns[0].stats["psi"] == pytest.approx(expected, rel=1e-12)


def test_sturges_bins_are_accepted() -> None:
    ref, cur = _pair()
    report = detect_drift(build_profile(ref), cur, {**DEFAULTS, "bins": "sturges"})
    assert report.bins == "sturges"
    assert _by_column(report)["shifted"].drifted


def test_checks_per_method_and_share() -> None:
    ref, cur = _pair()
    report = detect_drift(build_profile(ref), cur, DEFAULTS)
    checks = report.checks(fail=True)
    assert len(checks) == 4 * 2 + 1
    share = checks[-1]
    assert (share.rule, share.passed, share.observed, share.expected) == (
        "drift.share",
        False,
        0.5,
        "< 0.5",
    )
    assert share.severity == "error"
    assert share.blocking
    assert "2 of 4 checked columns drifted (shifted, cat_shifted)" in share.message
    psi = next(c for c in checks if c.column == "shifted" and c.rule == "drift.psi")
    assert not psi.passed
    assert psi.expected == "< 0.2"
    assert psi.observed == report.columns[1].stats["psi"]
    assert psi.severity == "error"
    ok = next(c for c in checks if c.column == "same" and c.rule == "drift.wasserstein")
    assert ok.passed

    assert all(c.severity == "warning" for c in report.checks(fail=False))


def test_column_checks_warn_when_dataset_does_not_drift() -> None:
    ref, cur = _pair()
    report = detect_drift(build_profile(ref), cur, {**DEFAULTS, "share": 0.9})
    checks = report.checks(fail=True)
    assert not any(c.blocking for c in checks)
    failed = [c for c in checks if not c.passed]
    assert failed
    assert {c.severity for c in failed} == {"warning"}
    assert checks[-1].severity == "error"
    assert checks[-1].passed


def test_report_serialises_and_renders() -> None:
    import json

    ref, cur = _pair()
    cur = cur.drop_columns(["cat_same"])
    report = detect_drift(build_profile(ref), cur, DEFAULTS)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["dataset_drift"] is True
    assert data["drifted_columns"] == ["shifted", "cat_shifted"]
    assert data["skipped"] == {"cat_same": "not in the current data"}
    assert data["columns"][1]["stats"]["psi"] == report.columns[1].stats["psi"]
    text = report.markdown()
    assert "**Drift: drifted** — 2 of 3 columns drifted" in text
    assert text.index("`shifted`") < text.index("`same`")  # drifted rows first
    assert "| `cat_same` | — | skipped | not in the current data |" in text


def _halves(seed: int, rows: int = 120) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    x, c = rng.normal(0, 1, rows), rng.choice(["a", "b", "c"], rows)
    half = rows // 2
    return pa.table({"x": x[:half], "c": c[:half]}), pa.table({"x": x[half:], "c": c[half:]})


def test_distances_within_sampling_noise_do_not_drift() -> None:
    ref, cur = _halves(3)  # two halves of one sample of 120 normal values
    report = detect_drift(build_profile(ref), cur, DEFAULTS)
    x = _by_column(report)["x"]
    # both distances cross Evidently's thresholds on 60 values, yet KS sees no difference
    assert x.stats["wasserstein"] >= 0.1 and x.stats["psi"] >= 0.2
    assert (x.noise_test, x.drifted, x.methods_flagged) == ("ks", False, [])
    assert x.noise_pvalue > 0.5
    assert x.within_noise == ["wasserstein", "psi"]
    assert x.to_dict()["noise_pvalue"] == x.noise_pvalue
    message = next(c.message for c in report.checks(fail=True) if c.rule == "drift.psi")
    assert message == "psi 0.3862 >= 0.2, but within sampling noise (ks p 0.66 >= 0.01)"
    assert "within sampling noise" in report.markdown()
    # the same shift on real evidence is drift
    moved = cur.set_column(0, "x", pc.add(cur.column("x"), 1.5))
    assert _by_column(detect_drift(build_profile(ref), moved, DEFAULTS))["x"].drifted


def test_categorical_noise_uses_a_two_sample_test() -> None:
    rng = np.random.default_rng(0)
    ref = pa.table({"c": rng.choice(["a", "b", "c", "d", "e", "f"], 40)})
    cur = pa.table({"c": rng.choice(["a", "b", "c", "d", "e", "f"], 40)})
    col = detect_drift(build_profile(ref), cur, DEFAULTS).columns[0]
    assert col.stats["jensenshannon"] >= 0.1  # 40 values in 6 categories: noisy shares
    assert (col.noise_test, col.drifted) == ("chi2-homogeneity", False)
    shifted = pa.table({"c": ["a"] * 30 + ["b"] * 10})
    assert detect_drift(build_profile(ref), shifted, DEFAULTS).columns[0].drifted


def test_target_drift_is_judged_apart_from_the_share() -> None:
    rng = np.random.default_rng(2)
    rows = 2_000
    ref = pa.table(
        {
            "a": rng.normal(0, 1, rows),
            "b": rng.normal(0, 1, rows),
            "label": rng.choice(["yes", "no"], rows, p=[0.3, 0.7]),
            "id": np.arange(rows),
        }
    )
    cur = pa.table(
        {
            "a": rng.normal(0, 1, rows),
            "b": rng.normal(0, 1, rows),
            "label": rng.choice(["yes", "no"], rows, p=[0.7, 0.3]),
            "id": np.arange(rows, 2 * rows),
        }
    )
    scope = DriftScope(target="label", skip={"id": "role: id in the contract"})
    report = detect_drift(build_profile(ref), cur, DEFAULTS, scope)
    assert [c.column for c in report.columns] == ["a", "b"]
    assert report.share == 0.0 and not report.dataset_drift
    assert report.target is not None and report.target.column == "label"
    assert report.target_drift
    assert report.skipped == {"id": "role: id in the contract"}
    checks = {c.name: c for c in report.checks(fail=True)}
    assert checks["label: drift.target"].blocking
    assert "target (label) distribution drifted" in checks["label: drift.target"].message
    assert checks["label: drift.psi"].blocking
    assert not checks["drift.share"].blocking
    assert "0 of 2 checked columns drifted" in checks["drift.share"].message
    warned = {c.name: c for c in report.checks(fail=False)}
    assert warned["label: drift.target"].severity == "warning"
    data = report.to_dict()
    assert data["target_drift"] is True and data["target"]["column"] == "label"
    assert "**Target drift: drifted** — `label`" in report.markdown()
    # without a scope the label is one more column, and ids drift as new values do
    plain = detect_drift(build_profile(ref), cur, DEFAULTS)
    assert plain.target is None and {"label", "id"} <= {c.column for c in plain.columns}


def test_a_target_missing_from_the_reference_is_reported_skipped() -> None:
    ref, cur = _pair()
    report = detect_drift(build_profile(ref), cur, DEFAULTS, DriftScope(target="y"))
    assert report.target is None
    assert report.skipped["y"] == "target column not in the reference profile"
