"""The people-facing outputs of compare: Markdown table, HTML page, PNG plots."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from modelci.comparing import html
from modelci.comparing.decision import Budget, Decision, MetricValues, ModelSide, RuleVerdict
from modelci.comparing.report import markdown
from modelci.metrics import Predictions


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
    page = html.write_report(tmp_path, _decision(), cand, prod)
    pngs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert pngs == ["predicted_vs_actual.png", "residuals.png"]
    text = page.read_text(encoding="utf-8")
    for name in pngs:
        data = (tmp_path / "plots" / name).read_bytes()
        assert data.startswith(b"\x89PNG")
        assert base64.b64encode(data).decode("ascii") in text
    assert "FAILED" in text and "models:/house/3" in text and "[+0.125, +0.375]" in text
    # same data, same bytes: reports of identical runs do not differ
    again = html.make_plots(cand, prod)
    assert again["residuals"] == (tmp_path / "plots" / "residuals.png").read_bytes()


def test_html_escapes_values_from_data(tmp_path: Path) -> None:
    y = np.array([0, 1, 0, 1] * 10)
    cand = Predictions("classification", y, y, None, ("<b>no</b>", "yes"))
    decision = _decision(summary="<script>alert(1)</script>", rules=(), budgets=())
    page = html.write_report(tmp_path, decision, cand, None).read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    # without probabilities there are no curves, only the confusion matrix
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["confusion_matrix.png"]
