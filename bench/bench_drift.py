"""Drift detection: modelci against Evidently 0.7.23 on the same data and the same methods.

Run in the benchmark venv (Evidently needs pandas < 3), see bench/requirements-drift.txt:

    .venv-bench-drift/bin/python bench/bench_drift.py [--rows 1000000]

Each measured phase runs in its own child process, so peak memory (high-water RSS above
the process's state once its input is in memory) belongs to that phase alone. The data are
generated from a fixed seed in each child: Arrow tables for modelci, pandas DataFrames for
Evidently (each tool gets its native input; conversion is not timed).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # modelci from this checkout when not installed

SEED = 20261122
NUMERIC_METHODS = ("ks", "psi", "wasserstein", "jensenshannon")
CATEGORICAL_METHODS = ("chi2", "psi", "jensenshannon")
#: modelci method name → Evidently stattest name
EVIDENTLY_NAME = {"chi2": "chisquare"}
TOLERANCE = 1e-6
#: runs of each modelci phase (median reported); Evidently runs once
REPEATS = 3


def make_data(rows: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Reference and current columns (numpy / lists, None for nulls) and each column's kind.

    12 numeric and 8 categorical columns; about half shift in the current data. Includes
    ties (rounded values), a low-cardinality integer column (binned by value), nulls, a
    heavy tail, a category that only appears in the current data and one that vanishes.
    """
    rng = np.random.default_rng(SEED)
    ref: dict[str, Any] = {}
    cur: dict[str, Any] = {}
    kinds: dict[str, str] = {}

    def num(name: str, a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> None:
        ref[name], cur[name], kinds[name] = a, b, "numeric"

    def cat(name: str, a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> None:
        ref[name], cur[name], kinds[name] = a, b, "categorical"

    n = rows
    num("normal_same", rng.normal(0, 1, n), rng.normal(0, 1, n))
    num("normal_shift", rng.normal(0, 1, n), rng.normal(0.25, 1, n))
    num("normal_scale", rng.normal(5, 2, n), rng.normal(5, 2.6, n))
    num("lognormal_tail", rng.lognormal(0, 1, n), rng.lognormal(0.05, 1.1, n))
    num("uniform_same", rng.uniform(-3, 3, n), rng.uniform(-3, 3, n))
    num("exponential_shift", rng.exponential(2.0, n), rng.exponential(2.4, n))
    num("rounded_ties", np.round(rng.normal(50, 10, n)), np.round(rng.normal(51, 10, n)))
    num("price_2dp", np.round(rng.gamma(2.0, 30.0, n), 2), np.round(rng.gamma(2.0, 30.0, n), 2))
    num("poisson_small", rng.poisson(3, n).astype(np.int64), rng.poisson(3.4, n).astype(np.int64))
    num("int_wide", rng.integers(0, 10_000, n), rng.integers(0, 10_000, n))
    a = rng.normal(10, 3, n)
    a[rng.random(n) < 0.05] = np.nan
    b = rng.normal(10.5, 3, n)
    b[rng.random(n) < 0.15] = np.nan
    num("with_nulls", a, b)
    num("bimodal", _bimodal(rng, n, 0.3), _bimodal(rng, n, 0.5))

    letters = np.array(list("abcdefghij"))
    p = np.linspace(1, 2, 10)
    cat(
        "cat_same",
        letters[rng.choice(10, n, p=p / p.sum())],
        letters[rng.choice(10, n, p=p / p.sum())],
    )
    q = p[::-1].copy()
    cat(
        "cat_shift",
        letters[rng.choice(10, n, p=p / p.sum())],
        letters[rng.choice(10, n, p=q / q.sum())],
    )
    cities = np.array([f"city_{i:03d}" for i in range(200)])
    z = 1.0 / np.arange(1, 201)
    cat(
        "zipf_200",
        cities[rng.choice(200, n, p=z / z.sum())],
        cities[rng.choice(200, n, p=z / z.sum())],
    )
    newcat = np.array(["red", "green", "blue", "violet"])
    cat("new_category", newcat[rng.choice(3, n)], newcat[rng.choice(4, n, p=[0.3, 0.3, 0.3, 0.1])])
    gone = np.array(["x", "y", "rare"])
    cat("vanishing", gone[rng.choice(3, n, p=[0.49, 0.49, 0.02])], gone[rng.choice(2, n)])
    cat("flag_bool", rng.random(n) < 0.3, rng.random(n) < 0.36)
    tiers = np.array(["bronze", "silver", "gold"])
    ra = tiers[rng.choice(3, n, p=[0.6, 0.3, 0.1])].astype(object)
    ra[rng.random(n) < 0.1] = None
    rb = tiers[rng.choice(3, n, p=[0.6, 0.3, 0.1])].astype(object)
    rb[rng.random(n) < 0.1] = None
    cat("tier_nulls", ra, rb)
    codes = np.array([f"SKU-{i:05d}" for i in range(5000)])
    cat("sku_5000", codes[rng.integers(0, 5000, n)], codes[rng.integers(0, 4500, n)])
    return ref, cur, kinds


def _bimodal(rng: np.random.Generator, n: int, share: float) -> np.ndarray[Any, Any]:
    pick = rng.random(n) < share
    return np.where(pick, rng.normal(4, 1, n), rng.normal(-1, 1.5, n))


def methods_for(kinds: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return {c: NUMERIC_METHODS if k == "numeric" else CATEGORICAL_METHODS for c, k in kinds.items()}


def settings_for(kinds: dict[str, str]) -> dict[str, Any]:
    """validate.drift settings forcing every method on every column, binned like Evidently."""
    # Thresholds only decide verdicts, not values; these are Evidently's defaults.
    thresholds = {"ks": 0.05, "chi2": 0.05, "psi": 0.1, "wasserstein": 0.1, "jensenshannon": 0.1}
    return {
        "share": 0.5,
        "bins": "sturges",
        "columns": {c: {m: thresholds[m] for m in ms} for c, ms in methods_for(kinds).items()},
    }


def _arrow_tables(rows: int) -> tuple[Any, Any, dict[str, str]]:
    import pyarrow as pa
    import scipy.special
    import scipy.stats  # noqa: F401 - import time is left out of the timing, as Evidently's is

    ref, cur, kinds = make_data(rows)
    return pa.table(ref), pa.table(cur), kinds


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def _start_memory() -> float:
    """Reset the peak-RSS mark (Linux clear_refs 5) and return the current RSS in MB."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass  # then the peak may include the data generation: an overestimate
    return _status_mb("VmRSS")


def _peak_since(base: float) -> float:
    return _status_mb("VmHWM") - base


def phase_modelci_raw(rows: int, _: str) -> dict[str, Any]:
    from modelci.drift import build_profile, detect_drift

    ref, cur, kinds = _arrow_tables(rows)
    base = _start_memory()
    start = time.perf_counter()
    profile = build_profile(ref, kinds=kinds)  # type: ignore[arg-type]
    report = detect_drift(profile, cur, settings_for(kinds))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": _peak_since(base), "values": _modelci_values(report)}


def phase_modelci_profile(rows: int, workdir: str) -> dict[str, Any]:
    from modelci.drift import build_profile, detect_drift, load_profile, save_profile

    ref, cur, kinds = _arrow_tables(rows)
    path = Path(workdir) / "reference.mprof"
    start = time.perf_counter()
    save_profile(build_profile(ref, kinds=kinds), path)  # type: ignore[arg-type]
    build_seconds = time.perf_counter() - start
    del ref
    base = _start_memory()
    start = time.perf_counter()
    report = detect_drift(load_profile(path), cur, settings_for(kinds))
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "build_seconds": build_seconds,
        "profile_mb": path.stat().st_size / 2**20,
        "peak_mb": _peak_since(base),
        "values": _modelci_values(report),
    }


def _modelci_values(report: Any) -> dict[str, float]:
    return {f"{c.column}/{m}": float(v) for c in report.columns for m, v in c.stats.items()}


def phase_evidently(rows: int, _: str) -> dict[str, Any]:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    ref_cols, cur_cols, kinds = make_data(rows)
    ref_df, cur_df = pd.DataFrame(ref_cols), pd.DataFrame(cur_cols)
    del ref_cols, cur_cols
    definition = DataDefinition(
        numerical_columns=[c for c, k in kinds.items() if k == "numeric"],
        categorical_columns=[c for c, k in kinds.items() if k == "categorical"],
    )
    metrics = [
        ValueDrift(column=c, method=EVIDENTLY_NAME.get(m, m))
        for c, ms in methods_for(kinds).items()
        for m in ms
    ]
    base = _start_memory()
    start = time.perf_counter()
    snapshot = Report(metrics).run(
        Dataset.from_pandas(cur_df, data_definition=definition),
        Dataset.from_pandas(ref_df, data_definition=definition),
    )
    seconds = time.perf_counter() - start
    back = {v: k for k, v in EVIDENTLY_NAME.items()}
    values = {
        f"{m['config']['column']}/{back.get(m['config']['method'], m['config']['method'])}": float(
            m["value"]
        )
        for m in snapshot.dict()["metrics"]
    }
    return {"seconds": seconds, "peak_mb": _peak_since(base), "values": values}


PHASES = {
    "modelci_raw": phase_modelci_raw,
    "modelci_profile": phase_modelci_profile,
    "evidently": phase_evidently,
}


def run_phase(name: str, rows: int, workdir: str) -> dict[str, Any]:
    out = Path(workdir) / f"{name}.json"
    subprocess.run(
        [sys.executable, __file__, "--rows", str(rows), "--phase", name, "--workdir", workdir],
        check=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def median_of(repeats: int, name: str, rows: int, workdir: str) -> dict[str, Any]:
    """Run a (cheap) phase several times: median time, largest peak, values checked equal.

    The machine is shared, so one run of a few seconds is at the mercy of its neighbours;
    Evidently's single run of minutes averages that out by itself.
    """
    runs = [run_phase(name, rows, workdir) for _ in range(repeats)]
    if any(r["values"] != runs[0]["values"] for r in runs[1:]):
        raise SystemExit(f"{name}: repeated runs gave different values (not deterministic)")
    result = dict(runs[0])
    result["seconds"] = float(np.median([r["seconds"] for r in runs]))
    result["peak_mb"] = max(r["peak_mb"] for r in runs)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        import warnings

        warnings.simplefilter("ignore")  # Evidently/scipy warn on empty expected categories
        result = PHASES[args.phase](args.rows, args.workdir)
        Path(args.workdir, f"{args.phase}.json").write_text(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-drift-") as workdir:
        raw = median_of(REPEATS, "modelci_raw", args.rows, workdir)
        prof = median_of(REPEATS, "modelci_profile", args.rows, workdir)
        evid = run_phase("evidently", args.rows, workdir)
    return report(args.rows, raw, prof, evid)


def report(rows: int, raw: dict[str, Any], prof: dict[str, Any], evid: dict[str, Any]) -> int:
    import evidently
    import numpy
    import pandas
    import scipy

    print(f"drift benchmark: {rows:,} rows x 20 columns (12 numeric, 8 categorical), seed {SEED}")
    print(
        f"evidently {evidently.__version__}, pandas {pandas.__version__}, "
        f"numpy {numpy.__version__}, scipy {scipy.__version__}; PSI/JS bins: sturges"
    )
    print()
    print(f"{'column':<18} {'method':<14} {'modelci':>14} {'evidently':>14} {'abs diff':>10} "
          f"{'profile diff':>12}")  # fmt: skip
    worst = 0.0
    worst_profile = 0.0
    missing: list[str] = []
    for key in sorted(
        evid["values"], key=lambda k: list(raw["values"]).index(k) if k in raw["values"] else 1e9
    ):
        column, method = key.split("/")
        ours = raw["values"].get(key)
        theirs = evid["values"][key]
        if ours is None:
            missing.append(key)
            continue
        diff = _diff(ours, theirs)
        pdiff = _diff(prof["values"][key], ours)
        worst = max(worst, diff)
        worst_profile = max(worst_profile, pdiff)
        print(
            f"{column:<18} {method:<14} {ours:>14.8g} {theirs:>14.8g} {diff:>10.2e} {pdiff:>12.2e}"
        )
    missing += [k for k in raw["values"] if k not in evid["values"]]
    print()
    same = worst < TOLERANCE and not missing
    print(
        f"max |modelci - evidently| = {worst:.3e} over {len(evid['values'])} values "
        f"(tolerance {TOLERANCE:g}): {'PASS' if same else 'FAIL'}"
        + (f"; missing: {', '.join(missing)}" if missing else "")
    )
    print(f"max |from profile - from raw| = {worst_profile:.3e}: "
          f"{'PASS' if worst_profile < TOLERANCE else 'FAIL'}")  # fmt: skip
    print()
    print(f"{'run':<45} {'seconds':>9} {'peak MB':>9} {'evidently/this':>15}")
    rows_out = [
        ("evidently Report(ValueDrift x 72)", evid),
        ("modelci from raw reference (profile+detect)", raw),
        ("modelci from saved profile (load+detect)", prof),
    ]
    for label, data in rows_out:
        ratio = evid["seconds"] / data["seconds"]
        print(f"{label:<45} {data['seconds']:>9.2f} {data['peak_mb']:>9.0f} {ratio:>14.1f}x")
    print(
        f"(profile built and saved once in {prof['build_seconds']:.2f} s, "
        f"{prof['profile_mb']:.1f} MB on disk)"
    )
    print(f"(modelci: median of {REPEATS} runs, identical values each time; Evidently: one run)")
    speedup = evid["seconds"] / raw["seconds"]
    fast = speedup >= 10
    print(f"speed: {speedup:.1f}x from raw data (target >= 10x): {'PASS' if fast else 'FAIL'}")
    return 0 if same and fast else 1


def _diff(a: float, b: float) -> float:
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isinf(a) and a == b:
        return 0.0
    return abs(a - b)


if __name__ == "__main__":
    sys.exit(main())
