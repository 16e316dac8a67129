"""Inferred contracts on fresh batches from the same source: false rejections, false drift
alarms, and how often shifted batches are caught.

    .venv/bin/python bench/bench_contract.py [--resamples 200] [--only iris,mixed]

For every dataset, each resample splits the rows at random into two halves, infers a
contract from one half as ``modelci contract infer --target <label>`` does (defaults:
widened bounds, no row bounds), profiles that half for drift, and validates the other half
as ``modelci validate-data`` does with the packaged ``validate.drift`` settings. The library
is called directly; the contract goes through its YAML file as on the command line.

- false rejection: any failing contract check on the unchanged other half (target <= 1%);
- drift flag: dataset drift (the feature share) or target drift on that half (target <= 5%);
- detection, on the other half changed as stated (the batch size is the half's row count):
  ``shift+0.5sd`` / ``shift+1sd``: every numeric feature moved by 0.5 / 1 reference
  standard deviation, flagged when the dataset drifts; ``x10`` / ``x1000``: the first
  numeric feature multiplied by 10 / 1000 (a unit error), flagged when the contract rejects
  the batch (the bounds are widened for long tails, so x10 is mostly drift's to catch);
  ``label``: half of the rows whose label is at or above the median label (text labels:
  the most common one) dropped, flagged as target drift.

Datasets: scikit-learn's bundled breast_cancer, diabetes, wine, iris and digits (as
frames, label ``target``), and ``mixed``: generated rows with an integer id that a later
batch continues, a UUID-like text id, integral ages, skewed incomes (lognormal), heavy-tailed
returns (Student t, 3 df) and claims (Pareto), counts, low-cardinality categories (one with
nulls), a float with 5% missing, dates, a boolean and a text label.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

SHIFTS = ("shift+0.5sd", "shift+1sd", "x10", "x1000", "label")
SKLEARN = ("breast_cancer", "diabetes", "wine", "iris", "digits")
MIXED_ROWS = 2_000


@dataclass(frozen=True)
class Source:
    """A dataset to resample: its rows, its label column, and how a batch is made fresh."""

    name: str
    frame: pd.DataFrame
    target: str
    #: (reference half, other half) -> the two as a source would deliver them
    fresh: Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]] = (
        lambda ref, cur: (ref, cur)
    )


@dataclass
class Rates:
    name: str
    rows: int
    batch: int
    resamples: int = 0
    rejections: int = 0
    drift_flags: int = 0
    target_flags: int = 0
    detections: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SHIFTS, 0))
    #: a few rejection messages, to see what failed
    examples: list[str] = field(default_factory=list)

    @property
    def rejection_rate(self) -> float:
        return self.rejections / self.resamples

    @property
    def drift_rate(self) -> float:
        return self.drift_flags / self.resamples


def sklearn_source(name: str) -> Source:
    from sklearn import datasets

    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    return Source(name, frame, "target")


def mixed_source(rows: int = MIXED_ROWS, seed: int = 7) -> Source:
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(42, 12, rows).round(), 18, 95).astype(np.int64)
    income = rng.lognormal(10.5, 0.8, rows).round(2)
    returns = rng.standard_t(3, rows) * 0.02
    claims = (rng.pareto(2.5, rows) + 1) * 100
    visits = rng.poisson(3, rows).astype(np.int64)
    segment = rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1])
    channel = rng.choice(["web", "shop", "phone"], rows, p=[0.6, 0.3, 0.1]).astype(object)
    channel[rng.random(rows) < 0.03] = None
    score = rng.normal(0.0, 1.0, rows)
    score[rng.random(rows) < 0.05] = np.nan
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D")
    active = rng.random(rows) < 0.7
    odds = -1.0 + 0.03 * (age - 42) + 0.5 * (segment == "d") + 0.3 * np.nan_to_num(score)
    label = np.where(rng.random(rows) < 1 / (1 + np.exp(-odds)), "churn", "stay")
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows, dtype=np.int64),
            "order_uuid": [f"{v:032x}" for v in rng.integers(0, 2**63, rows)],
            "age": age,
            "income": income,
            "returns": returns,
            "claims": claims,
            "visits": visits,
            "segment": segment,
            "channel": channel,
            "score": score,
            "signup": signup,
            "active": active,
            "label": label,
        }
    )

    def fresh(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        # ids are handed out in order: the later batch's ids all lie above the reference's
        ref, cur = ref.copy(), cur.copy()
        ref["customer_id"] = np.arange(1, len(ref) + 1, dtype=np.int64)
        cur["customer_id"] = np.arange(len(ref) + 1, len(ref) + len(cur) + 1, dtype=np.int64)
        return ref, cur

    return Source("mixed", frame, "label", fresh)


def sources(only: set[str] | None = None) -> list[Source]:
    wanted = [*SKLEARN, "mixed"]
    out: list[Source] = []
    for name in wanted:
        if only and name not in only:
            continue
        out.append(mixed_source() if name == "mixed" else sklearn_source(name))
    return out


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def _numeric_features(frame: pd.DataFrame, contract: Any) -> list[str]:
    out = []
    for name, spec in contract.columns.items():
        if spec.role != "feature" or spec.dtype not in ("integer", "float", "number"):
            continue
        if frame[name].dtype == bool or frame[name].std() == 0:
            continue
        out.append(name)
    return out


def _shifted(cur: pd.DataFrame, ref: pd.DataFrame, columns: list[str], sds: float) -> pd.DataFrame:
    out = cur.copy()
    for name in columns:
        moved = out[name] + sds * ref[name].std()
        out[name] = moved.round() if pd.api.types.is_integer_dtype(out[name]) else moved
        if pd.api.types.is_integer_dtype(cur[name]):
            out[name] = out[name].astype(cur[name].dtype)
    return out


def _label_shifted(cur: pd.DataFrame, target: str, rng: np.random.Generator) -> pd.DataFrame:
    labels = cur[target]
    if pd.api.types.is_numeric_dtype(labels):
        chosen = labels >= labels.median()
    else:
        chosen = labels == labels.value_counts().index[0]
    rows = np.flatnonzero(chosen.to_numpy())
    dropped = rng.choice(rows, size=len(rows) // 2, replace=False)
    return cur.drop(index=cur.index[dropped])


def evaluate(source: Source, resamples: int, seed: int = 0, shifts: bool = True) -> Rates:
    """Resample ``source`` and count rejections, drift flags and detections."""
    from modelci.config import defaults
    from modelci.contract.checks import run_checks
    from modelci.contract.infer import infer_contract, write_contract
    from modelci.contract.model import column_kinds, load_contract
    from modelci.drift.detect import DriftScope, detect_drift
    from modelci.drift.profile import build_profile

    settings = defaults()["validate"]["drift"]
    frame = source.frame
    half = len(frame) // 2
    rates = Rates(source.name, len(frame), len(frame) - half)
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contract.yaml"
        for _ in range(resamples):
            order = rng.permutation(len(frame))
            ref, cur = source.fresh(frame.iloc[order[:half]], frame.iloc[order[half:]])
            ref_table = _table(ref)
            data = infer_contract(ref_table, target=source.target)
            write_contract(data, path)
            contract = load_contract(path)
            skip = contract.drift_skipped()
            profile = build_profile(ref_table, kinds=column_kinds(contract), skip=skip)
            scope = DriftScope(target=contract.target, skip=skip)

            def rejects(batch: pd.DataFrame) -> list[str]:
                checks = run_checks(contract, _table(batch))  # noqa: B023 - used at once
                return [f"{c.name}: {c.message}" for c in checks if c.blocking]

            def drift(batch: pd.DataFrame) -> tuple[bool, bool]:
                report = detect_drift(profile, _table(batch), settings, scope)  # noqa: B023
                return report.dataset_drift, report.target_drift

            rates.resamples += 1
            failed = rejects(cur)
            if failed:
                rates.rejections += 1
                if len(rates.examples) < 5:
                    rates.examples.append(failed[0])
            dataset_drift, target_drift = drift(cur)
            rates.drift_flags += dataset_drift or target_drift
            rates.target_flags += target_drift
            if not shifts:
                continue
            numeric = _numeric_features(ref, contract)
            for name, sds in (("shift+0.5sd", 0.5), ("shift+1sd", 1.0)):
                rates.detections[name] += drift(_shifted(cur, ref, numeric, sds))[0]
            for name, factor in (("x10", 10), ("x1000", 1000)):
                if numeric:
                    unit = cur.copy()
                    unit[numeric[0]] = unit[numeric[0]] * factor
                    rates.detections[name] += bool(rejects(unit))
            rates.detections["label"] += drift(_label_shifted(cur, source.target, rng))[1]
    return rates


def report(results: list[Rates], seconds: float) -> str:
    lines = [
        f"{'dataset':<14}{'rows':>6}{'batch':>7}{'false reject':>14}{'drift flag':>12}"
        f"{'(target)':>10}" + "".join(f"{s:>13}" for s in SHIFTS),
    ]
    for r in results:
        lines.append(
            f"{r.name:<14}{r.rows:>6}{r.batch:>7}{r.rejection_rate:>13.1%} {r.drift_rate:>11.1%}"
            f"{r.target_flags / r.resamples:>10.1%}"
            + "".join(f"{r.detections[s] / r.resamples:>13.1%}" for s in SHIFTS)
        )
    worst_reject = max(r.rejection_rate for r in results)
    worst_drift = max(r.drift_rate for r in results)
    lines.append(
        f"worst false rejection rate {worst_reject:.1%} (target <= 1%): "
        f"{'PASS' if worst_reject <= 0.01 else 'FAIL'}; worst drift flag rate "
        f"{worst_drift:.1%} (target <= 5%): {'PASS' if worst_drift <= 0.05 else 'FAIL'}"
    )
    lines.append(f"{results[0].resamples} resamples per dataset, {seconds:.0f} s")
    for r in results:
        for example in r.examples:
            lines.append(f"  {r.name} rejected: {example}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--only", default="", help="comma-separated dataset names")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    only = {n for n in args.only.split(",") if n} or None
    start = time.perf_counter()
    results = [evaluate(s, args.resamples, args.seed) for s in sources(only)]
    print(report(results, time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
