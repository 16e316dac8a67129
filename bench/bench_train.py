"""The train step's overhead: `modelci train` against a bare scikit-learn fit and against the
same tracking written by hand with the MLflow API.

    .venv-bench-train/bin/python bench/bench_train.py [--repeats 9] [--settle 3]

Every variant runs as its own fresh Python process (a CI job starts cold), timed from
process start to exit, on breast_cancer (569 rows × 30 features) with the same pipeline, the
same stratified 80/20 split and the same metrics. The pipeline is the one ``modelci train``
builds for these settings (a ColumnTransformer that imputes missing numbers with the median
and scales them, then LogisticRegression(max_iter=200)): a script that fitted a smaller
model would charge modelci for fitting, predicting and serializing the bigger one.

- bare: read the CSV, split, fit, predict, compute the metrics; no tracking at all;
- by hand: bare + what a user typically writes: a fresh sqlite MLflow store, params,
  metrics, the dataset, ``mlflow.sklearn.log_model`` with an input example, and
  ``mlflow.register_model``. The model is saved with skops, as modelci saves it (MLflow's
  ``serialization_format="skops"``: a file that loads without running code, which a scan
  can pass), trusting the one type of this pipeline skops does not trust by default
  (written out, as a script for one model can). skops lists every scikit-learn type it
  trusts on import (about 0.4 s here), a cost cloudpickle, MLflow's default, does not have:
  a script that pickles does less work and makes a model no scan can clear, so it is not
  the peer;
- by hand, tuned: the same with MLflow tuned as modelci tunes it: the pinned requirements
  passed explicitly (MLflow then skips inferring them in a subprocess) and MLflow's usage
  telemetry off (``MLFLOW_DISABLE_TELEMETRY``: on a closed network the attempt to send it
  costs about a second at exit);
- by hand, tuned, warm store: the same again on an already created (migrated, empty) sqlite
  store, as modelci's cached one: the floor of any MLflow-tracked run;
- by hand, tuned, warm, frozen: the warm-store script ending with ``gc.freeze()``, as modelci's
  command line ends: the interpreter then skips walking every object MLflow and scikit-learn
  made with its cycle collector at exit (0.5-1 s here). Not part of the target (it tunes the
  interpreter, not MLflow), reported beside it: against it modelci's own work (the run folder
  and its checks) is what remains;
- modelci: ``modelci train`` (the console script beside the interpreter, as a CI job runs it;
  ``python -m modelci`` without one) with the same settings. It tracks in its own process
  through MLflow's public API, as the scripts do, and also writes the run folder (the
  serialization check, the logged model downloaded and digested, holdout rows,
  predictions, reports, manifest) and sweeps the registry for orphaned versions.

The target (issue 9): modelci's overhead over the bare fit is at most the best hand-tuned
MLflow script's (the smaller of the two tuned variants). modelci runs warm (its cached empty
MLflow database exists, as after the first run on a machine or a cached CI environment) and
once cold, before the timed runs. Variants run in rounds, each round in a shuffled order
(the same orders in every run of the bench); each process starts ``--settle`` seconds after
the one before it exited (a process that exits without tearing down hands back its memory at
once, and the next one started at once pays for it). The median and the fastest of
``--repeats`` runs are reported, since the machine is shared: the median is what a run
typically costs, the fastest the steadier estimate of the work itself. So is the CPU time
(user + system, of the process and whatever it started), and, last, the median over the
rounds of modelci's time minus each script's in the same round (the load of a shared
machine drifts from one round to the next). Every variant runs in a temporary folder outside
any git checkout.

Run it with an interpreter whose environment is as users get it (``pip install '.[train]'``): the
development ``.venv`` also holds the test tools, and with them jsonschema's format checkers
(``rfc3987_syntax`` builds a grammar on import), which every modelci command then imports.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


@dataclass(frozen=True)
class Variant:
    """A script modelci is timed against, and what it does (see the module's docstring)."""

    name: str
    #: tracks with MLflow by hand (``bare`` does not)
    tracked: bool = False
    #: MLflow tuned as modelci tunes it: pinned requirements, telemetry off
    tuned: bool = False
    #: starts from a copy of modelci's migrated empty store
    warm: bool = False
    #: ends with ``gc.freeze()``, as modelci's command line ends
    frozen: bool = False


VARIANTS = (
    Variant("bare"),
    Variant("by hand", tracked=True),
    Variant("by hand, tuned", tracked=True, tuned=True),
    Variant("by hand, tuned, warm store", tracked=True, tuned=True, warm=True),
    Variant("by hand, tuned, warm, frozen", tracked=True, tuned=True, warm=True, frozen=True),
)
#: the variants the target compares modelci with: the best of them sets the bar
TUNED_VARIANTS = tuple(v.name for v in VARIANTS if v.tuned and not v.frozen)
#: the warm-store script ending as modelci's command line ends, reported beside the target
FROZEN = next(v.name for v in VARIANTS if v.frozen)

COMMON = """
import sys, time
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn import metrics as m

df = pd.read_csv(sys.argv[1])
y = df.pop("target")
x_train, x_test, y_train, y_test = train_test_split(
    df, y, test_size=0.2, random_state=42, stratify=y)
numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
model = Pipeline([
    ("preprocess", ColumnTransformer([("numeric", numeric, list(df.columns))],
                                     remainder="drop", sparse_threshold=0.0)),
    ("model", LogisticRegression(max_iter=200, random_state=42))])
model.fit(x_train, y_train)
pred = model.predict(x_test)
proba = model.predict_proba(x_test)
scores = {
    "accuracy": m.accuracy_score(y_test, pred),
    "balanced_accuracy": m.balanced_accuracy_score(y_test, pred),
    "precision": m.precision_score(y_test, pred),
    "recall": m.recall_score(y_test, pred),
    "f1": m.f1_score(y_test, pred),
    "roc_auc": m.roc_auc_score(y_test, proba[:, 1]),
    "log_loss": m.log_loss(y_test, proba),
}
"""

BY_HAND = """
import mlflow, mlflow.sklearn
from mlflow.data.pandas_dataset import from_pandas
work = sys.argv[2]
mlflow.set_tracking_uri(f"sqlite:///{work}/mlflow.db")
experiment = mlflow.create_experiment("bench", artifact_location=f"file://{work}/artifacts")
with mlflow.start_run(experiment_id=experiment) as run:
    mlflow.log_params({"max_iter": 200, "random_state": 42, "test_size": 0.2})
    mlflow.log_metrics(scores)
    mlflow.log_input(from_pandas(df.assign(target=y), source=sys.argv[1], targets="target"),
                     context="training")
    info = mlflow.sklearn.log_model(model, name="model", input_example=x_train.head(5),
                                    serialization_format="skops",
                                    skops_trusted_types=["numpy.dtype"], **EXTRA)
mlflow.register_model(info.model_uri, "bench")
"""

TUNED = """
EXTRA = {"pip_requirements": mlflow.sklearn.get_default_pip_requirements(include_skops=True)}
"""
#: the last statement of a frozen variant, as of ``modelci``'s entry point
FROZEN_EXIT = """
import gc
gc.freeze()
"""


def _script(variant: Variant) -> str:
    if not variant.tracked:
        return COMMON
    extra = TUNED if variant.tuned else "EXTRA = {}\n"
    return (
        COMMON
        + BY_HAND.replace(
            "import mlflow, mlflow.sklearn\n", "import mlflow, mlflow.sklearn\n" + extra, 1
        )
        + (FROZEN_EXIT if variant.frozen else "")
    )


@dataclass(frozen=True)
class Timing:
    #: wall-clock seconds from process start to exit
    wall: float
    #: user + system CPU seconds of the process and what it started
    cpu: float


#: seconds to wait before each timed process (``--settle``)
SETTLE = 3.0
#: the seed of the rounds' orders, so that two runs of the bench time the same sequence
SEED = 20261129


def _timed(argv: list[str], env: dict[str, str], cwd: Path, settle: float) -> Timing:
    # A process that exits without tearing its objects down (gc.freeze(), as modelci and the
    # frozen script end) hands the machine back hundreds of MiB at once, and on this VM the
    # next process started at once runs about 0.3 s slower: without a pause each variant
    # would be charged for the exit of the one before it.
    time.sleep(settle)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(elapsed, cpu)


def _modelci_command() -> list[str]:
    """The console script a CI job runs (``python -m modelci`` when there is none)."""
    script = Path(sys.executable).with_name("modelci")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "modelci"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE,
        help="seconds to wait before each timed process (default %(default)s)",
    )
    args = parser.parse_args()

    from sklearn.datasets import load_breast_cancer

    # An install compiles modelci's modules once; this bench imports them from src/, and in
    # an environment that sets PYTHONDONTWRITEBYTECODE (CI containers often do) every modelci
    # process would otherwise compile the stale ones again (30-50 ms here).
    compileall.compile_dir(SRC / "modelci", quiet=1)

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        root = Path(tmp)
        data = root / "bc.csv"
        load_breast_cancer(as_frame=True).frame.to_csv(data, index=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MODELCI_"))}
        env["MODELCI_HOME"] = str(root / "home")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        scripts = {}
        for variant in VARIANTS:
            path = root / f"{variant.name.replace(' ', '_').replace(',', '')}.py"
            path.write_text(textwrap.dedent(_script(variant)))
            scripts[variant] = path
        tuned_env = {**env, "MLFLOW_DISABLE_TELEMETRY": "true"}

        run_no = 0

        def modelci() -> list[str]:
            nonlocal run_no
            run_no += 1
            return [
                *_modelci_command(), "--workdir", str(root / f"run{run_no}"),
                "train", str(data), "--target", "target",
                "--estimator", "sklearn.linear_model.LogisticRegression",
                "--params", '{"max_iter": 200}', "--model-name", "bench",
            ]  # fmt: skip

        # Every variant runs in the temporary folder, outside any git checkout: MLflow and
        # modelci both look for one to tag the run with, at the same cost for each.
        cold = _timed(modelci(), env, root, args.settle)
        # the migrated empty store the cold run cached, which the warm scripts start from
        template = next((root / "home" / "cache").glob("mlflow-*-empty.db"))
        times: dict[str, list[Timing]] = {v.name: [] for v in VARIANTS}
        times["modelci"] = []
        # Each round runs every variant once, in an order of its own: a process runs slower
        # right after one that exited frozen (modelci, FROZEN), and a fixed order would
        # charge that to whichever variant always came next.
        order = random.Random(SEED)
        for _ in range(args.repeats):
            for turn in order.sample([*VARIANTS, None], k=len(VARIANTS) + 1):
                if turn is None:  # modelci's turn
                    times["modelci"].append(_timed(modelci(), env, root, args.settle))
                    continue
                work = root / f"hand{run_no}"
                run_no += 1
                work.mkdir()
                if turn.warm:
                    shutil.copyfile(template, work / "mlflow.db")
                argv = [sys.executable, str(scripts[turn]), str(data), str(work)]
                times[turn.name].append(
                    _timed(argv, tuned_env if turn.tuned else env, root, args.settle)
                )

    print(f"train overhead on breast_cancer, {args.repeats} cold processes each")
    print("tuned scripts: pinned requirements, telemetry off")
    # The median is what a run typically costs; on a shared machine the fastest run is the
    # steadier estimate of what the work itself costs (interference only ever adds time).
    for label, statistic in (("median", statistics.median), ("fastest", min)):
        print()
        _report(label, {k: [statistic(t.wall for t in v), statistic(t.cpu for t in v)]
                        for k, v in times.items()}, cold)  # fmt: skip
    _paired(times)


def _report(label: str, values: dict[str, list[float]], cold: Timing) -> None:
    """One table (wall clock and CPU, ``label`` of the runs) and the target's verdicts."""
    print(f"{label:<30}{' wall clock ':-^30}  {' CPU (user + system) ':-^30}")
    head = f"{'s':>7}{'over bare':>11}{'modelci ×':>12}"
    print(f"{'variant':<30}{head}  {head}")
    rows = {**values, "modelci (cold cache)": [cold.wall, cold.cpu]}
    for kind, row in rows.items():
        cells = []
        for i, value in enumerate(row):
            over = value - values["bare"][i]
            ours = values["modelci"][i] - values["bare"][i]
            plain = kind in ("bare", "modelci", "modelci (cold cache)")
            ratio = " " * 12 if plain else f"{ours / over:>12.2f}"
            cells.append(f"{value:>7.2f}{over:>11.2f}{ratio}")
        print(f"{kind:<30}{cells[0]}  {cells[1]}")
    for i, measure in enumerate(("wall", "cpu")):
        tuned = {k: values[k][i] - values["bare"][i] for k in TUNED_VARIANTS}
        best = min(tuned, key=lambda k: tuned[k])
        ours = values["modelci"][i] - values["bare"][i]
        print(
            f"{measure:>4} ({label}): modelci overhead {ours:.2f} s, best hand-tuned script "
            f"({best}) {tuned[best]:.2f} s: ratio {ours / tuned[best]:.2f} (target <= 1.00: "
            f"{'met' if ours <= tuned[best] else 'NOT met'}; {ours - tuned[best]:+.2f} s)"
        )
        frozen = values[FROZEN][i] - values["bare"][i]
        print(
            f"{measure:>4} ({label}): beside the target, against {FROZEN!r} {frozen:.2f} s: "
            f"ratio {ours / frozen:.2f} ({ours - frozen:+.2f} s)"
        )


def _paired(times: dict[str, list[Timing]]) -> None:
    """modelci's time minus each script's within the same round, median over the rounds:
    the rounds ran minutes apart, and the load of a shared machine drifts in between."""
    print()
    print("paired: modelci minus the script of the same round, median of the rounds (wall, CPU)")
    for kind in (*TUNED_VARIANTS, FROZEN):
        rounds = list(zip(times["modelci"], times[kind], strict=True))
        wall = statistics.median(m.wall - v.wall for m, v in rounds)
        cpu = statistics.median(m.cpu - v.cpu for m, v in rounds)
        print(f"  {kind:<30}{wall:+7.2f} s {cpu:+7.2f} s")


if __name__ == "__main__":
    main()
