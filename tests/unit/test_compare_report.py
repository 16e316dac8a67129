"""The people-facing outputs of compare: Markdown table, HTML page, PNG plots."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelci.comparing import html, plots
from modelci.comparing.context import ReportContext, mlflow_base, run_page, version_page
from modelci.comparing.decision import (
    Budget,
    Decision,
    McNemar,
    MetricValues,
    ModelSide,
    RuleVerdict,
    SkippedSlice,
)
from modelci.comparing.report import markdown
from modelci.metrics import METRICS, Predictions, point


def _decision(**extra: Any) -> Decision:
    fields: dict[str, Any] = {
        "passed": False,
        "summary": "compare failed: worse on rmse",
        "confidence": 0.9,
        "rows": 1200,
        "data": "train/eval.parquet",
        "resamples": 2000,
        "seed": 0,
        "candidate": ModelSide(uri="models:/house/4", name="house", version="4"),
        "production": ModelSide(uri="models:/house/3", name="house", version="3", alias="champion"),
        "rules": (
            RuleVerdict(
                metric="rmse",
                scope="all rows",
                rows=1200,
                rule="must not degrade",
                direction="lower",
                production=1.25,
                candidate=1.5,
                difference=0.25,
                interval=(0.125, 0.375),
                confidence=0.9,
                resamples=2000,
                improvement_low=-0.375,
                improvement_high=-0.125,
                threshold=-0.0125,
                relative=True,
                passed=False,
                reason="90% lower bound of the improvement -0.375 <= allowed -0.0125",
            ),
        ),
        "budgets": (Budget(name="size_mb", candidate=2.5, production=2.0, limit=5.0, passed=True),),
        "metrics": MetricValues(
            candidate={"rmse": 1.5, "r2": 0.75}, production={"rmse": 1.25, "r2": 0.8}
        ),
    }
    fields.update(extra)
    return Decision(**fields)


def test_markdown_table_has_every_column_people_read() -> None:
    text = markdown(_decision())
    lines = text.splitlines()
    assert lines[0] == "**❌ failed** — compare failed: worse on rmse"
    assert "| metric | production | candidate | difference | 90% interval | verdict |" in lines
    assert "| rmse | 1.25 | 1.5 | +0.25 | [+0.125, +0.375] | ❌ must not degrade |" in lines
    # metrics without a rule are shown, marked as not gated
    assert "| r2 | 0.8 | 0.75 | -0.05 | — | ℹ️ not gated |" in lines
    assert "| size_mb | 2 | 2.5 | 5 | ✅ |" in lines
    assert lines[-1] == (
        "Candidate `models:/house/4` vs production `models:/house/3` (`@champion`) on 1,200 "
        "rows; paired bootstrap, 2,000 resamples, seed 0."
    )


def test_markdown_for_a_first_model_lists_candidate_metrics() -> None:
    text = markdown(
        _decision(
            passed=True,
            production=None,
            rules=(),
            budgets=(),
            summary="no production model to compare with",
            notes=("registered model 'house' has no version behind alias 'champion' yet",),
        )
    )
    assert "| metric | candidate |" in text and "| rmse | 1.5 |" in text
    assert "- registered model 'house' has no version behind alias 'champion' yet" in text


def test_regression_report_has_side_by_side_plots_saved_and_embedded(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(0, 3, 300)
    cand = Predictions("regression", y, y + rng.normal(0, 1, 300))
    prod = Predictions("regression", y, y + rng.normal(0, 2, 300))
    files = html.report_files(_decision(), cand, prod)
    pngs = sorted(n.removeprefix("plots/") for n in files if n.startswith("plots/"))
    assert pngs == ["predicted_vs_actual.png", "residuals.png"]
    text = str(files["report.html"])
    for name in pngs:
        data = files[f"plots/{name}"]
        assert isinstance(data, bytes) and data.startswith(b"\x89PNG")
        assert base64.b64encode(data).decode("ascii") in text
    assert "FAILED" in text and "models:/house/3" in text and "[+0.125, +0.375]" in text
    # same data, same bytes: reports of identical runs do not differ
    again = plots.make_plots(cand, prod)
    assert again["residuals"] == files["plots/residuals.png"]


def test_html_escapes_values_from_data(tmp_path: Path) -> None:
    y = np.array([0, 1, 0, 1] * 10)
    cand = Predictions("classification", y, y, None, ("<b>no</b>", "yes"))
    decision = _decision(summary="<script>alert(1)</script>", rules=(), budgets=())
    files = html.report_files(decision, cand, None)
    page = str(files["report.html"])
    assert "<script>" not in page and "&lt;script&gt;" in page
    # without probabilities there are no curves, only the confusion matrix
    assert sorted(n for n in files if n.startswith("plots/")) == ["plots/confusion_matrix.png"]


def _three_classes(seed: int, sharpness: float) -> Predictions:
    rng = np.random.default_rng(seed)
    n = 600
    y = rng.integers(0, 3, n)
    # classes told apart unevenly, so the macro and the micro average differ
    proba = rng.dirichlet(np.ones(3), n)
    proba[np.arange(n), y] += sharpness * np.array([0.1, 0.6, 1.5])[y]
    proba /= proba.sum(axis=1, keepdims=True)
    return Predictions("classification", y, proba.argmax(axis=1), proba, ("a", "b", "c"))


def test_multiclass_roc_shows_the_gated_macro_one_vs_rest_auc() -> None:
    from sklearn.metrics import roc_auc_score

    cand, prod = _three_classes(1, 1.0), _three_classes(2, 0.5)
    figure = plots.figures(cand, prod)["roc_curve"]
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    for role, pred in (("production", prod), ("candidate", cand)):
        gated = point(METRICS["roc_auc"], pred)
        assert gated == pytest.approx(roc_auc_score(pred.y_true, pred.proba, multi_class="ovr"))
        assert f"{role} (macro one-vs-rest AUC {gated:.3f})" in labels
    assert figure.axes[0].get_title() == "ROC curve (one-vs-rest, macro average)"
    plots.png(figure)


def test_side_by_side_regression_plots_share_their_axes() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(0, 3, 200)
    cand = Predictions("regression", y, y + rng.normal(0, 1, 200))
    prod = Predictions("regression", y, 10 + y * 3)
    for name, figure in plots.figures(cand, prod).items():
        left, right = figure.axes
        assert left.get_shared_x_axes().joined(left, right), name
        assert left.get_shared_y_axes().joined(left, right), name
        assert left.get_ylim() == right.get_ylim(), name
        plots.png(figure)


def test_the_page_links_mlflow_without_credentials_and_shows_mcnemar(tmp_path: Path) -> None:
    base = mlflow_base("https://ci-bot:s3cret@mlflow.example.com/tracking/?token=abc")
    assert base == "https://mlflow.example.com/tracking"
    assert mlflow_base("sqlite:////tmp/mlflow.db") is None
    context = ReportContext(
        commit="0123abcd",
        ci_run="https://github.com/o/r/actions/runs/7",
        training_data_digest="sha256:" + "d" * 64,
        candidate_run=run_page(base, "3", "r1"),
        candidate_version=version_page(base, "house price", "4"),
        production_version=version_page(base, "house price", "3"),
    )
    rule = _decision().rules[0]
    tested = replace(rule, metric="accuracy", mcnemar=McNemar(23, 4, 0.00021, "chi-square"))
    decision = _decision(rules=(tested,), data_digest="sha256:" + "e" * 64)
    page = html.render(decision, [], context)
    assert "s3cret" not in page and "ci-bot" not in page and "token" not in page
    assert "href='https://mlflow.example.com/tracking/#/experiments/3/runs/r1'" in page
    assert "href='https://mlflow.example.com/tracking/#/models/house%20price/versions/4'" in page
    assert "0123abcd" in page and "sha256:" + "d" * 64 in page and "sha256:" + "e" * 64 in page
    assert "<td>23</td><td>4</td><td>0.00021</td><td>chi-square</td>" in page
    text = markdown(decision)
    assert (
        "McNemar's test on accuracy: 23 rows only the candidate got right, 4 only production; "
        "p = 0.00021 (chi-square)"
    ) in text


def test_skipped_slices_are_skipped_in_every_output() -> None:
    from modelci.ci.base import render_table
    from modelci.comparing.result import step_result
    from modelci.reports import junit_xml, markdown_table

    skipped = SkippedSlice("rmse", "region=north", 12, "must not degrade", "12 rows < min_rows 30")
    decision = _decision(passed=True, rules=(), budgets=(), slices=(skipped,))
    result = step_result(decision)
    [check] = result.checks
    assert check.skipped and check.passed and not check.blocking
    assert check.to_dict()["skipped"] is True
    assert "skipped" not in replace(check, skipped=False).to_dict()
    junit = junit_xml(result).decode("utf-8")
    assert 'skipped="1"' in junit and '<skipped message="not judged: 12 rows' in junit
    table = render_table(result).splitlines()
    assert table[-1].startswith("SKIP  region=north")
    assert "| ⏭️ | region=north |" in markdown_table(result.checks, "compare")
    assert "⏭️ skipped (12 rows < min_rows 30)" in result.markdown
    page = html.render(decision, [])
    assert "<td class='skip'>skipped (12 rows &lt; min_rows 30)</td>" in page
