"""Drift of a current dataset against a reference profile, per column and for the dataset.

Settings are the ``validate.drift`` section of modelci.yaml. Verdict conventions follow
Evidently 0.7 exactly: ks drifts when p <= threshold, chi2 when p < threshold, psi,
wasserstein and jensenshannon when value >= threshold. One addition of ours: a distance
over its threshold counts only when a two-sample test also finds the difference beyond
sampling noise (p < ``NOISE_ALPHA``), so two halves of one small dataset do not "drift".
A column drifts when any of its methods flags; the dataset drifts when drifted/checked
feature columns >= ``share``. The target (label) column is judged on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelci.drift import stats
from modelci.drift.profile import ColumnProfile, Kind, Profile, category_counts, numeric_sample
from modelci.errors import ConfigError
from modelci.results import Check, Severity, format_value

SECTION = "validate.drift"
#: level of the two-sample test a distance must also pass to count as drift
NOISE_ALPHA = 0.01
NUMERIC_METHODS = ("ks", "psi", "wasserstein", "jensenshannon")
CATEGORICAL_METHODS = ("chi2", "psi", "jensenshannon")
P_VALUE_METHODS = frozenset({"ks", "chi2"})
DEFAULTS: dict[str, Any] = {
    "share": 0.5,
    "bins": "sturges",
    "numeric": {"wasserstein": 0.1, "psi": 0.2},
    "categorical": {"jensenshannon": 0.1, "psi": 0.2},
}


@dataclass
class ColumnDrift:
    """Drift of one column: each method's value against its threshold."""

    column: str
    kind: Kind
    #: method → value (p-value for ks/chi2); NaN when it could not be computed
    stats: dict[str, float]
    thresholds: dict[str, float]
    drifted: bool
    methods_flagged: list[str]
    reference_count: int = 0
    current_count: int = 0
    current_nulls: int = 0
    #: why the values are missing or the verdict was forced (empty side, unreadable type)
    note: str = ""
    #: the two-sample test that told a distance over its threshold from sampling noise
    #: (``ks`` or ``chi2-homogeneity``) and its p-value; empty when no distance was over
    noise_test: str = ""
    noise_pvalue: float = math.nan

    @property
    def within_noise(self) -> list[str]:
        """Distance methods over their threshold that the noise test did not confirm."""
        if not self.noise_test or self.noise_pvalue < NOISE_ALPHA:
            return []
        return [
            m
            for m, t in self.thresholds.items()
            if m not in P_VALUE_METHODS and flags(m, self.stats.get(m, math.nan), t)
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (NaN becomes None)."""
        noise = (
            {"noise_test": self.noise_test, "noise_pvalue": _plain_float(self.noise_pvalue)}
            if self.noise_test
            else {}
        )
        return {
            "column": self.column,
            "kind": self.kind,
            "drifted": self.drifted,
            "stats": {m: _plain_float(v) for m, v in self.stats.items()},
            "thresholds": dict(self.thresholds),
            "methods_flagged": list(self.methods_flagged),
            "reference_count": self.reference_count,
            "current_count": self.current_count,
            "current_nulls": self.current_nulls,
            **noise,
            **({"note": self.note} if self.note else {}),
        }


def _plain_float(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class DriftScope:
    """What the contract and configuration say about columns before any is compared."""

    #: the label column: its drift is target drift, outside the feature share
    target: str | None = None
    #: columns not compared (identifiers, ``drift: false``), with the reason reported
    skip: Mapping[str, str] = field(default_factory=dict)


@dataclass
class DriftReport:
    columns: list[ColumnDrift]
    #: drifted / checked columns (0 when nothing was checked)
    share: float
    threshold_share: float
    dataset_drift: bool
    #: column → why it was not checked (absent from the current data, turned off)
    skipped: dict[str, str] = field(default_factory=dict)
    bins: stats.Bins = "sturges"
    #: the label column's drift, judged apart from the feature columns' share
    target: ColumnDrift | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def target_drift(self) -> bool:
        return self.target is not None and self.target.drifted

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, for the step's report details."""
        return {
            "dataset_drift": self.dataset_drift,
            "share": self.share,
            "threshold_share": self.threshold_share,
            "drifted_columns": self.drifted_columns,
            "target_drift": self.target_drift,
            "target": self.target.to_dict() if self.target is not None else None,
            "bins": self.bins,
            "columns": [c.to_dict() for c in self.columns],
            "skipped": dict(self.skipped),
        }

    def markdown(self) -> str:
        """A Markdown table of every checked column, drifted ones first, for job summaries."""
        verdict = "drifted" if self.dataset_drift else "no drift"
        lines = [
            f"**Drift: {verdict}** — {len(self.drifted_columns)} of {len(self.columns)} "
            f"columns drifted (share {self.share:.2f}, threshold {self.threshold_share:g})",
        ]
        if self.target is not None:
            shown = "drifted" if self.target.drifted else "no drift"
            lines.append(f"\n**Target drift: {shown}** — `{_cell(self.target.column)}`")
        lines += [
            "",
            "| column | kind | drifted | values (threshold) |",
            "|---|---|---|---|",
        ]
        rows = sorted(self.columns, key=lambda c: not c.drifted)
        if self.target is not None:
            rows.insert(0, self.target)
        for col in rows:
            shown = ", ".join(
                f"{m} {format_value(None if math.isnan(v) else v)} ({col.thresholds[m]:g})"
                for m, v in col.stats.items()
            )
            if col.within_noise:
                shown += f" — within sampling noise ({col.noise_test} p {col.noise_pvalue:.2g})"
            if col.note:
                shown += f" — {col.note}"
            mark = "**yes**" if col.drifted else "no"
            kind = f"{col.kind}, target" if col is self.target else col.kind
            lines.append(f"| `{_cell(col.column)}` | {kind} | {mark} | {_cell(shown)} |")
        for name, reason in self.skipped.items():
            lines.append(f"| `{_cell(name)}` | — | skipped | {reason} |")
        return "\n".join(lines) + "\n"

    def checks(self, *, fail: bool) -> list[Check]:
        """One Check per column and method, plus the dataset-level ``drift.share`` check.

        Column checks are errors only when the dataset drifts and ``fail`` is set: a lone
        drifted column below the share is worth a warning, not a failed pipeline.
        """
        table_severity: Severity = "error" if fail else "warning"
        column_severity: Severity = "error" if fail and self.dataset_drift else "warning"
        out: list[Check] = []
        for col in self.columns:
            out += _method_checks(col, column_severity)
        if self.target is not None:
            target_severity: Severity = "error" if fail and self.target.drifted else "warning"
            out += _method_checks(self.target, target_severity)
        checked = len(self.columns)
        drifted = len(self.drifted_columns)
        out.append(
            Check(
                rule="drift.share",
                passed=not self.dataset_drift,
                observed=self.share,
                expected=f"< {self.threshold_share:g}",
                message=f"{drifted} of {checked} checked columns drifted"
                + (f" ({', '.join(self.drifted_columns)})" if drifted else ""),
                severity=table_severity,
            )
        )
        if self.target is not None:
            target = self.target
            flagged = ", ".join(target.methods_flagged)
            out.append(
                Check(
                    rule="drift.target",
                    passed=not target.drifted,
                    observed=list(target.methods_flagged),
                    expected="no drift",
                    column=target.column,
                    message=(
                        f"the target (label) distribution drifted ({flagged})"
                        if target.drifted
                        else "the target (label) distribution has not drifted"
                    )
                    + (f"; {target.note}" if target.note else ""),
                    severity=table_severity,
                )
            )
        return out


def _method_checks(col: ColumnDrift, severity: Severity) -> list[Check]:
    out: list[Check] = []
    noise = set(col.within_noise)
    for method, threshold in col.thresholds.items():
        value = col.stats.get(method, math.nan)
        flagged = method in col.methods_flagged or (col.drifted and math.isnan(value))
        message = col.note or _verdict_text(method, value, threshold, flagged)
        if method in noise:
            message = (
                f"{_verdict_text(method, value, threshold, True)}, but within sampling noise "
                f"({col.noise_test} p {col.noise_pvalue:.2g} >= {NOISE_ALPHA:g})"
            )
        out.append(
            Check(
                rule=f"drift.{method}",
                passed=not flagged,
                observed=None if math.isnan(value) else value,
                expected=expected_text(method, threshold),
                column=col.column,
                message=message,
                severity=severity,
            )
        )
    return out


def _cell(text: str) -> str:
    # A pipe or newline in a column name would break the Markdown table.
    return text.replace("|", "\\|").replace("\n", " ")


def expected_text(method: str, threshold: float) -> str:
    """What a passing value looks like, in Evidently's convention for each method."""
    if method == "ks":
        return f"p > {threshold:g}"
    if method == "chi2":
        return f"p >= {threshold:g}"
    return f"< {threshold:g}"


def _verdict_text(method: str, value: float, threshold: float, flagged: bool) -> str:
    shown = f"{value:.4g}"
    if method in P_VALUE_METHODS:
        verdict = "distribution differs" if flagged else "no evidence of drift"
        return f"{method} p-value {shown}: {verdict}"
    return f"{method} {shown} {'>=' if flagged else '<'} {threshold:g}"


def flags(method: str, value: float, threshold: float) -> bool:
    """Evidently's verdicts: ks p <= t, chi2 p < t, distances >= t. NaN never flags."""
    if math.isnan(value):
        return False
    if method == "ks":
        return value <= threshold
    if method == "chi2":
        return value < threshold
    return value >= threshold


def detect_drift(
    reference: Profile,
    current: Any,
    settings: Mapping[str, Any],
    scope: DriftScope | None = None,
) -> DriftReport:
    """Compare a pyarrow Table with a reference profile under ``validate.drift`` settings.

    ``scope`` names the target column (judged apart from the feature share) and the columns
    to leave out (identifiers, ``drift: false``), as the contract and configuration say.
    """
    scope = scope or DriftScope()
    share = _number(settings, "share", DEFAULTS["share"])
    bins = _bins(settings.get("bins", DEFAULTS["bins"]))
    defaults = {
        "numeric": _methods(
            settings.get("numeric", DEFAULTS["numeric"]), "numeric", f"{SECTION}.numeric"
        ),
        "categorical": _methods(
            settings.get("categorical", DEFAULTS["categorical"]),
            "categorical",
            f"{SECTION}.categorical",
        ),
    }
    overrides = settings.get("columns") or {}
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            "must be a mapping of column name to methods or false", key=f"{SECTION}.columns"
        )
    for name in overrides:
        if name not in reference.columns:
            raise ConfigError(
                f"column {name!r} is not in the reference profile "
                f"(profiled columns: {', '.join(reference.columns) or 'none'})",
                key=f"{SECTION}.columns.{name}",
            )

    results: list[ColumnDrift] = []
    target: ColumnDrift | None = None
    skipped: dict[str, str] = {}
    present = set(current.column_names)
    positions = {name: i for i, name in enumerate(current.column_names)}
    for name, ref in reference.columns.items():
        override = overrides.get(name)
        if name in scope.skip:
            skipped[name] = scope.skip[name]
            continue
        if override is False:
            skipped[name] = "turned off in validate.drift.columns"
            continue
        methods = (
            defaults[ref.kind]
            if override is None
            else _methods(override, ref.kind, f"{SECTION}.columns.{name}")
        )
        if name not in present:
            skipped[name] = "not in the current data"
            continue
        # by position: a name lookup per column would scan the schema each time
        found = _column_drift(ref, current.column(positions[name]), methods, bins)
        if name == scope.target:
            target = found
        else:
            results.append(found)
    if scope.target is not None and scope.target not in reference.columns:
        skipped.setdefault(scope.target, "target column not in the reference profile")

    drifted = sum(1 for r in results if r.drifted)
    observed_share = drifted / len(results) if results else 0.0
    return DriftReport(
        columns=results,
        share=observed_share,
        threshold_share=share,
        dataset_drift=bool(results) and observed_share >= share,
        skipped=skipped,
        bins=bins,
        target=target,
    )


def _column_drift(
    ref: ColumnProfile, column: Any, methods: dict[str, float], bins: stats.Bins
) -> ColumnDrift:
    import pyarrow as pa

    nan_stats = dict.fromkeys(methods, math.nan)

    def forced(note: str, drifted: bool, current_count: int, current_nulls: int) -> ColumnDrift:
        return ColumnDrift(
            ref.name, ref.kind, dict(nan_stats), dict(methods), drifted,
            list(methods) if drifted else [], ref.count, current_count, current_nulls, note,
        )  # fmt: skip

    try:
        if ref.kind == "numeric":
            cur_ecdf, cur_nulls = numeric_sample(column)
            cur_count = cur_ecdf.n
        else:
            cur_keys, cur_counts, cur_nulls = category_counts(column)
            cur_count = int(cur_counts.sum())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return forced(
            f"current values ({column.type}) cannot be read as {ref.kind} like the reference; "
            "counted as drifted",
            True, 0, len(column),
        )  # fmt: skip
    if ref.count == 0 or cur_count == 0:
        if ref.count == 0 and cur_count == 0:
            return forced(
                "no non-null values on either side; nothing to compare", False, 0, cur_nulls
            )
        side = "current" if cur_count == 0 else "reference"
        return forced(
            f"no non-null values in the {side} data; counted as drifted", True, cur_count, cur_nulls
        )

    values: dict[str, float] = {}
    if ref.kind == "numeric":
        assert ref.ecdf is not None
        values = _numeric_stats(ref, cur_ecdf, methods, bins)
    else:
        values = _categorical_stats(ref, cur_keys, cur_counts, methods)
    flagged = [m for m, t in methods.items() if flags(m, values[m], t)]
    noise_test, noise_p = "", math.nan
    if any(m not in P_VALUE_METHODS for m in flagged):
        if ref.kind == "numeric":
            noise_test, noise_p = _numeric_noise(ref, cur_ecdf)
        else:
            noise_test, noise_p = (
                "chi2-homogeneity",
                stats.homogeneity_pvalue(
                    *align_categories(ref.categories, ref.counts, cur_keys, cur_counts)
                ),
            )
        if noise_p >= NOISE_ALPHA:
            flagged = [m for m in flagged if m in P_VALUE_METHODS]
    return ColumnDrift(
        ref.name, ref.kind, values, dict(methods), bool(flagged), flagged,
        ref.count, cur_count, cur_nulls, "", noise_test, noise_p,
    )  # fmt: skip


def _numeric_noise(ref: ColumnProfile, cur: stats.Ecdf) -> tuple[str, float]:
    """The two-sample test for a numeric column: value counts for a few distinct values
    (KS is conservative on ties), KS otherwise."""
    assert ref.ecdf is not None
    if ref.ecdf.values.size <= stats.VALUE_BINNED_MAX_UNIQUE:
        counts = stats.numeric_counts(ref.ecdf, cur, "sturges")
        return "chi2-homogeneity", stats.homogeneity_pvalue(*counts)
    return "ks", stats.ks_pvalue(ref.ecdf, cur)


def _numeric_stats(
    ref: ColumnProfile, cur: stats.Ecdf, methods: Mapping[str, float], bins: stats.Bins
) -> dict[str, float]:
    assert ref.ecdf is not None
    reference = ref.ecdf
    counts: tuple[stats.IntArray, stats.IntArray] | None = None
    if "psi" in methods or "jensenshannon" in methods:
        counts = stats.numeric_counts(reference, cur, bins)
    # KS and Wasserstein read the same merged ECDFs: build them once.
    pair = stats.CdfPair.of(reference, cur) if {"ks", "wasserstein"} & set(methods) else None
    out: dict[str, float] = {}
    for method in methods:
        if method == "ks":
            out[method] = stats.ks_pvalue(reference, cur, pair)
        elif method == "wasserstein":
            std = ref.std if not math.isnan(ref.std) else None
            out[method] = stats.wasserstein_norm(reference, cur, std, pair)
        elif method == "psi":
            assert counts is not None
            out[method] = stats.psi(*counts)
        elif method == "jensenshannon":
            assert counts is not None
            out[method] = stats.jensenshannon(*counts)
    return out


def _categorical_stats(
    ref: ColumnProfile, cur_keys: Any, cur_counts: stats.IntArray, methods: Mapping[str, float]
) -> dict[str, float]:
    ref_counts, aligned_cur = align_categories(ref.categories, ref.counts, cur_keys, cur_counts)
    compute: dict[str, Callable[[stats.IntArray, stats.IntArray], float]] = {
        "chi2": stats.chi2_pvalue,
        "psi": stats.psi,
        "jensenshannon": stats.jensenshannon,
    }
    return {method: compute[method](ref_counts, aligned_cur) for method in methods}


def align_categories(
    ref_keys: Any, ref_counts: stats.IntArray, cur_keys: Any, cur_counts: stats.IntArray
) -> tuple[stats.IntArray, stats.IntArray]:
    """Counts of both sides over the union of categories: reference ones, then new ones."""
    import pyarrow.compute as pc

    position = pc.index_in(cur_keys, value_set=ref_keys)
    known = np.asarray(position.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    idx = np.asarray(position.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    new = int((~known).sum())
    ref_out = np.concatenate((ref_counts, np.zeros(new, np.int64)))
    cur_out = np.zeros(ref_counts.size + new, np.int64)
    cur_out[idx[known]] = cur_counts[known]
    cur_out[ref_counts.size :] = cur_counts[~known]
    return ref_out, cur_out


def _number(settings: Mapping[str, Any], key: str, default: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"must be a number in (0, 1], not {value!r}", key=f"{SECTION}.{key}")
    return float(value)


def _bins(value: Any) -> stats.Bins:
    if value == "sturges":
        return "sturges"
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 1000:
        raise ConfigError(
            f"must be an integer from 2 to 1000 or 'sturges', not {value!r}", key=f"{SECTION}.bins"
        )
    return value


def _methods(value: Any, kind: Kind, key: str) -> dict[str, float]:
    allowed = NUMERIC_METHODS if kind == "numeric" else CATEGORICAL_METHODS
    if not isinstance(value, Mapping) or not value:
        raise ConfigError("must map at least one drift method to its threshold", key=key)
    out: dict[str, float] = {}
    for method, threshold in value.items():
        if method not in allowed:
            raise ConfigError(
                f"{method!r} does not apply to a {kind} column (use {', '.join(allowed)})",
                key=f"{key}.{method}",
            )
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
            raise ConfigError(
                f"threshold must be a positive number, not {threshold!r}", key=f"{key}.{method}"
            )
        if method in P_VALUE_METHODS and threshold > 1:
            raise ConfigError(
                f"is a p-value threshold: at most 1, not {threshold!r}", key=f"{key}.{method}"
            )
        out[str(method)] = float(threshold)
    return out
