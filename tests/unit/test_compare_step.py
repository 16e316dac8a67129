"""`modelci compare` end to end on a real MLflow registry (sqlite) with real models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CliRunner
from tests.unit.compare_support import FEATURES_SMALL, decision, project, registry

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


def test_clearly_better_candidate_passes_with_reports_and_plots(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, champion="1", candidate="2", local_model=True)
    result = run_cli("compare")
    assert result.code == 0, result.err
    found = decision(in_tmp)
    assert found["passed"] is True
    # loaded from train's folder, named by its registry URI
    assert found["candidate"]["uri"] == "models:/bc/2"
    assert found["candidate"]["path"].endswith("train/model")
    assert found["production"]["version"] == "1"
    assert found["production"]["alias"] == "champion"
    [rule] = found["rules"]
    accuracies = registry().versions
    assert rule["metric"] == "accuracy"
    assert rule["production"] == pytest.approx(accuracies["1"][1])
    assert rule["candidate"] == pytest.approx(accuracies["2"][1])
    assert rule["interval"][0] > 0  # clearly better: the whole interval above zero
    assert rule["mcnemar"]["candidate_only_correct"] > rule["mcnemar"]["production_only_correct"]
    folder = in_tmp / ".modelci" / "compare"
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "| metric | production | candidate | difference | 95% interval | verdict |" in summary
    assert "| accuracy |" in summary and "✅ must not degrade" in summary
    for name in ("roc_curve", "pr_curve", "confusion_matrix"):
        png = (folder / "plots" / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["passed"] is True and report["details"]["decision"]["rules"][0]["passed"]
    manifest = json.loads((in_tmp / ".modelci" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["steps"]["compare"]["passed"] is True
    assert manifest["compare"]["candidate"]["version"] == "2"


def test_clearly_worse_candidate_fails_with_exit_1(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="2", candidate="1")
    result = run_cli("compare", "--resamples", "500")
    assert result.code == 1
    assert "compare failed: accuracy may be worse than production by more than 0.01" in result.err
    found = decision(in_tmp)
    assert found["passed"] is False
    assert found["resamples"] == 500
    assert found["rules"][0]["interval"][1] < 0


def test_same_model_fails_must_improve_and_passes_must_not_degrade(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(
        in_tmp,
        champion="2",
        candidate="2",
        config="compare:\n  rules:\n    accuracy: {min_improvement: 0}\n    roc_auc: {}\n",
    )
    result = run_cli("compare")
    assert result.code == 1
    rules = {r["metric"]: r for r in decision(in_tmp)["rules"]}
    assert rules["accuracy"]["passed"] is False and rules["accuracy"]["rule"] == "must improve"
    assert rules["roc_auc"]["passed"] is True and rules["roc_auc"]["rule"] == "must not degrade"


def test_first_model_passes_under_the_default_policy(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion=None, candidate="1")
    result = run_cli("compare")
    assert result.code == 0, result.err
    found = decision(in_tmp)
    assert found["production"] is None
    assert "no version behind alias 'champion'" in found["summary"]
    assert "passed under the no_production: pass policy" in found["summary"]
    assert found["metrics"]["candidate"]["accuracy"] == pytest.approx(registry().versions["1"][1])
    failing = run_cli("compare", "--no-production", "fail")
    assert failing.code == 1
    assert "no_production: fail" in failing.err


def test_better_on_average_but_worse_on_a_guarded_slice_fails(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    import os

    from mlflow.sklearn import load_model

    from modelci.registry.store import using

    built = registry()
    frame = built.eval_frame.copy()
    features = [c for c in frame.columns if c not in ("target", "__row")]
    with using(f"sqlite:///{built.db}"):
        weak = load_model("models:/bc/1").predict(frame[features])
        strong = load_model("models:/bc/2").predict(frame[features])
    # the registry's URI does not leak into the environment of later runs
    assert "MLFLOW_TRACKING_URI" not in os.environ
    truth = frame["target"].to_numpy()
    # one segment holds every row the weak model gets right and the strong one wrong
    regressions = (weak == truth) & (strong != truth)
    both_right = np.flatnonzero((weak == truth) & (strong == truth))[:30]
    segment = np.where(regressions, "edge", "main")
    segment[both_right] = "edge"
    frame["segment"] = segment
    assert regressions.sum() >= 2
    project(
        in_tmp,
        champion="1",
        candidate="2",
        eval_frame=frame,
        config="compare:\n  slices:\n    - {column: segment, metric: accuracy, min_rows: 10}\n",
    )
    result = run_cli("compare")
    assert result.code == 1
    found = decision(in_tmp)
    assert found["rules"][0]["passed"] is True  # better on average
    slices = {s["scope"]: s for s in found["slices"]}
    assert slices["segment=edge"]["passed"] is False
    assert slices["segment=main"]["passed"] is True
    assert "accuracy on segment=edge may be worse than production" in found["summary"]


def test_budgets_fail_an_oversized_candidate(in_tmp: Path, run_cli: CliRunner) -> None:
    project(
        in_tmp,
        config="compare:\n  budgets: {max_size_mb: 0.000001, max_p95_latency_ms: 10000, "
        "latency_samples: 10}\n",
    )
    result = run_cli("compare")
    assert result.code == 1
    budgets = {b["name"]: b for b in decision(in_tmp)["budgets"]}
    assert budgets["size_mb"]["passed"] is False and budgets["size_mb"]["candidate"] > 0
    assert budgets["p95_latency_ms"]["passed"] is True
    assert 0 < budgets["p95_latency_ms"]["candidate"] < 10000


def test_a_feature_added_or_dropped_is_compared_on_each_models_columns(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    # v3 reads 5 of the 30 columns v1 reads: each model takes its own from the holdout
    project(in_tmp, champion="1", candidate="3", local_model=True)
    result = run_cli("compare", "--resamples", "300")
    assert result.code in (0, 1), result.err
    [rule] = decision(in_tmp)["rules"]
    accuracies = registry().versions
    assert rule["candidate"] == pytest.approx(accuracies["3"][1])
    assert rule["production"] == pytest.approx(accuracies["1"][1])


def test_a_holdout_without_a_column_production_reads_names_it_and_data(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    # train's holdout has the candidate's columns only; the champion reads more
    frame = registry().eval_frame
    small = list(frame.columns[:FEATURES_SMALL])
    project(in_tmp, champion="1", candidate="3", eval_frame=frame[[*small, "target", "__row"]])
    result = run_cli("compare")
    assert result.code == 2
    line = result.err.strip()
    assert len(line.splitlines()) == 1
    assert (
        "missing feature 'mean_compactness' (and 24 more) that the production model needs" in line
    )
    assert "pass --data with an evaluation set that has every column both models read" in line


def test_evaluation_set_missing_a_feature_names_it(in_tmp: Path, run_cli: CliRunner) -> None:
    frame = registry().eval_frame.drop(columns=["mean_radius"])
    project(in_tmp, eval_frame=frame)
    result = run_cli("compare")
    assert result.code == 2
    assert "missing feature 'mean_radius'" in result.err


def test_alias_that_points_nowhere_names_alias_and_model(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp)
    result = run_cli("compare", "--production", "models:/bc@gold")
    assert result.code == 2
    assert "alias 'gold' of registered model 'bc' points nowhere" in result.err


def test_metric_the_task_cannot_compute_names_metric_and_task(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, config="compare:\n  rules:\n    rmse: {max_degradation: 0.1}\n")
    result = run_cli("compare")
    assert result.code == 2
    assert "metric 'rmse' cannot be computed for a classification model" in result.err


def test_explicit_uris_and_csv_data(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion=None)
    registry().eval_frame.drop(columns=["__row"]).to_csv(in_tmp / "holdout.csv", index=False)
    result = run_cli(
        "compare",
        "--candidate",
        "models:/bc/2",
        "--production",
        "models:/bc/1",
        "--data",
        "holdout.csv",
        "--resamples",
        "300",
    )
    assert result.code == 0, result.err
    found = decision(in_tmp)
    assert found["candidate"] == {
        "uri": "models:/bc/2",
        "name": "bc",
        "version": "2",
        "digest": found["candidate"]["digest"],
    }
    assert found["candidate"]["digest"].startswith("sha256:")
    assert found["production"]["uri"] == "models:/bc/1"
    assert found["rows"] == len(registry().eval_frame)


def test_scikit_learn_scorers_and_a_project_function_are_rules(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    (in_tmp / "gate_metrics.py").write_text(
        "def wrong(y_true, y_pred):\n    return float((y_true != y_pred).mean())\n"
    )
    project(
        in_tmp,
        champion="1",
        candidate="2",
        config="compare:\n  rules:\n    average_precision: {}\n"
        "    gate_metrics:wrong: {direction: lower, max_degradation: 0.02}\n"
        "  slices:\n    - {column: mean_radius, bins: 2, metric: neg_log_loss, min_rows: 10}\n",
    )
    result = run_cli("compare", "--resamples", "200")
    assert result.code == 0, result.err
    found = decision(in_tmp)
    rules = {r["metric"]: r for r in found["rules"]}
    assert rules["average_precision"]["direction"] == "higher"
    assert rules["average_precision"]["candidate"] > rules["average_precision"]["production"]
    wrong = rules["gate_metrics:wrong"]
    assert wrong["direction"] == "lower" and wrong["passed"] is True
    assert wrong["candidate"] == pytest.approx(1 - registry().versions["2"][1])
    assert {s["metric"] for s in found["slices"]} == {"neg_log_loss"}


def test_a_function_rule_needs_its_direction(in_tmp: Path, run_cli: CliRunner) -> None:
    (in_tmp / "gate_fns.py").write_text("def score(y_true, y_pred):\n    return 1.0\n")
    project(in_tmp, config="compare:\n  rules:\n    gate_fns:score: {}\n")
    result = run_cli("compare")
    assert result.code == 2
    assert "compare.rules.gate_fns:score" in result.err and "direction: higher" in result.err


def test_an_unknown_metric_is_refused_before_anything_loads(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, config="compare:\n  rules:\n    averge_precision: {}\n")
    result = run_cli("compare")
    assert result.code == 2
    assert "metric 'averge_precision' is neither one of modelci's" in result.err


def test_the_report_says_where_the_comparison_came_from(in_tmp: Path, run_cli: CliRunner) -> None:
    import subprocess

    git = ["git", "-C", str(in_tmp), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    project(
        in_tmp,
        champion="1",
        candidate="2",
        config="compare:\n  slices:\n    - {column: mean_radius, bins: 2, metric: accuracy, "
        "min_rows: 1000}\n",
    )
    result = run_cli("compare", "--resamples", "300", "-v")  # -v: every check, skipped ones too
    assert result.code == 0, result.err
    found = decision(in_tmp)
    folder = in_tmp / ".modelci" / "compare"
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert commit in page
    assert found["data_digest"] in page and found["candidate"]["digest"] in page
    test = found["rules"][0]["mcnemar"]
    assert "<h2>McNemar's test</h2>" in page
    assert (
        f"<td>{test['candidate_only_correct']}</td><td>{test['production_only_correct']}</td>"
        in page
    )
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert (
        f"McNemar's test on accuracy: {test['candidate_only_correct']} rows only the candidate "
        f"got right, {test['production_only_correct']} only production; "
        f"p = {test['p_value']:.3g} ({test['method']})"
    ) in summary
    # slices too small to judge are skipped everywhere, never shown as passed
    assert all("skipped" in s for s in found["slices"])
    assert "SKIP" in result.out and "PASS  mean_radius" not in result.out
    junit = (folder / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("<skipped ") == len(found["slices"])
    assert "class='skip'>skipped" in page and "class='pass'>skipped" not in page
