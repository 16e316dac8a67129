"""The train step's overhead: `modelci train` against a bare scikit-learn fit and against the
same tracking written by hand with the MLflow API.

    .venv/bin/python bench/bench_train.py [--repeats 3]

Every variant runs as its own fresh Python process (a CI job starts cold), timed from
process start to exit, on breast_cancer (569 rows × 30 features) with the same pipeline
(StandardScaler + LogisticRegression(max_iter=200)), the same stratified 80/20 split and the
same metrics:

- bare: read the CSV, split, fit, predict, compute the metrics; no tracking at all;
- by hand: bare + what a user typically writes: a fresh sqlite MLflow store, params,
  metrics, the dataset, ``mlflow.sklearn.log_model`` with an input example, and
  ``mlflow.register_model``;
- by hand, tuned: the same with the pinned requirements passed explicitly (MLflow then
  skips inferring them in a subprocess), which is what modelci does;
- by hand, tuned, warm store: the same again on an already created (migrated, empty) sqlite
  store, as modelci's cached one: the floor of any MLflow-tracked run;
- modelci: ``python -m modelci train`` with the same settings, which also writes the run
  folder (model copy and digest, holdout rows, predictions, reports, manifest). MLflow loads
  in modelci's tracking worker while the step imports scikit-learn and fits, so on two idle
  cores most of MLflow's start-up is off the critical path; on a loaded machine (one core
  effectively) that overlap shrinks and so does the gain.

modelci runs warm (its cached empty MLflow database exists, as after the first run on a
machine or a cached CI environment) and once cold, before the timed runs. Variants are
interleaved and the median of ``--repeats`` runs is reported, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

COMMON = """
import sys, time
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn import metrics as m

df = pd.read_csv(sys.argv[1])
y = df.pop("target")
x_train, x_test, y_train, y_test = train_test_split(
    df, y, test_size=0.2, random_state=42, stratify=y)
model = Pipeline([("scale", StandardScaler()),
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
                                    **EXTRA)
mlflow.register_model(info.model_uri, "bench")
"""

TUNED = """
EXTRA = {"pip_requirements": mlflow.sklearn.get_default_pip_requirements(include_skops=True)}
"""


def _script(kind: str) -> str:
    if kind == "bare":
        return COMMON
    extra = TUNED if kind.startswith("by hand, tuned") else "EXTRA = {}\n"
    return COMMON + BY_HAND.replace(
        "import mlflow, mlflow.sklearn\n", "import mlflow, mlflow.sklearn\n" + extra, 1
    )


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from sklearn.datasets import load_breast_cancer

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        root = Path(tmp)
        data = root / "bc.csv"
        load_breast_cancer(as_frame=True).frame.to_csv(data, index=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MODELCI_"))}
        env["MODELCI_HOME"] = str(root / "home")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        scripts = {}
        for kind in ("bare", "by hand", "by hand, tuned", "by hand, tuned, warm store"):
            path = root / f"{kind.replace(' ', '_').replace(',', '')}.py"
            path.write_text(textwrap.dedent(_script(kind)))
            scripts[kind] = path

        run_no = 0

        def modelci() -> list[str]:
            nonlocal run_no
            run_no += 1
            return [
                sys.executable, "-m", "modelci", "--workdir", str(root / f"run{run_no}"),
                "train", str(data), "--target", "target",
                "--estimator", "sklearn.linear_model.LogisticRegression",
                "--params", '{"max_iter": 200}', "--model-name", "bench",
            ]  # fmt: skip

        cold = _timed(modelci(), env)
        times: dict[str, list[float]] = {k: [] for k in (*scripts, "modelci")}
        for _ in range(args.repeats):
            for kind, script in scripts.items():
                work = root / f"hand{run_no}"
                run_no += 1
                work.mkdir()
                if kind.endswith("warm store"):
                    template = next((root / "home" / "cache").glob("mlflow-*-empty.db"))
                    shutil.copyfile(template, work / "mlflow.db")
                times[kind].append(_timed([sys.executable, str(script), str(data), str(work)], env))
            times["modelci"].append(_timed(modelci(), env))

    median = {k: statistics.median(v) for k, v in times.items()}
    bare = median["bare"]
    print(f"train overhead on breast_cancer, median of {args.repeats} cold processes each")
    print(f"{'variant':<28}{'total s':>9}{'over bare s':>13}{'× bare':>8}")
    for kind, value in median.items():
        print(f"{kind:<28}{value:>9.2f}{value - bare:>13.2f}{value / bare:>8.2f}")
    print(f"{'modelci (cold cache)':<28}{cold:>9.2f}{cold - bare:>13.2f}{cold / bare:>8.2f}")
    overhead = median["modelci"] - bare
    by_hand = median["by hand"] - bare
    tuned = median["by hand, tuned"] - bare
    floor = median["by hand, tuned, warm store"] - bare
    print(
        f"\nmodelci overhead {overhead:.2f} s (target <= 1.5 s: "
        f"{'met' if overhead <= 1.5 else 'NOT met'}); by hand {by_hand:.2f} s, "
        f"tuned by hand {tuned:.2f} s (target: modelci <= by hand: "
        f"{'met' if overhead <= by_hand else 'NOT met'}); "
        f"modelci - tuned by hand: {overhead - tuned:+.2f} s; modelci - the MLflow floor "
        f"(tuned, warm store): {overhead - floor:+.2f} s"
    )


if __name__ == "__main__":
    main()
