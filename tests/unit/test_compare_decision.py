"""The typed compare decision: written as decision.json, read back strictly by promote."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelci.comparing.decision import (
    Budget,
    Decision,
    McNemar,
    MetricValues,
    ModelSide,
    RuleVerdict,
    SkippedSlice,
)
from modelci.digests import sha256_of
from modelci.errors import GateFailed


def _verdict(scope: str = "all rows", **extra: Any) -> RuleVerdict:
    fields: dict[str, Any] = {
        "metric": "accuracy",
        "scope": scope,
        "rows": 120,
        "rule": "must not degrade",
        "direction": "higher",
        "production": 0.8,
        "candidate": 0.85,
        "difference": 0.05,
        "interval": (0.01, 0.09),
        "confidence": 0.95,
        "resamples": 500,
        "improvement_low": 0.01,
        "improvement_high": 0.09,
        "threshold": -0.01,
        "relative": False,
        "passed": True,
        "reason": "95% lower bound of the improvement +0.01 > allowed -0.01",
    }
    fields.update(extra)
    return RuleVerdict(**fields)


def _decision() -> Decision:
    return Decision(
        passed=True,
        summary="compare passed: the candidate meets all 2 rules against production",
        candidate=ModelSide(
            uri="models:/bc/2", name="bc", version="2", digest="sha256:" + "a" * 64, path="/m"
        ),
        production=ModelSide(
            uri="models:/bc/1",
            name="bc",
            version="1",
            digest="sha256:" + "b" * 64,
            alias="champion",
        ),
        task="classification",
        rows=120,
        data="train/eval.parquet",
        data_digest="sha256:" + "c" * 64,
        alias="champion",
        confidence=0.95,
        resamples=500,
        seed=0,
        no_production="pass",
        rules=(_verdict(mcnemar=McNemar(9, 3, 0.146, "exact"), undefined_resamples=2),),
        slices=(
            _verdict("region=north", improvement_low=None, interval=(None, 0.2)),
            SkippedSlice("accuracy", "region=south", 4, "must not degrade", "4 rows < min_rows 30"),
        ),
        budgets=(Budget("size_mb", 0.04, 0.03, 50.0, True),),
        metrics=MetricValues({"accuracy": 0.85, "roc_auc": None}, {"accuracy": 0.8}),
        notes=("a note",),
        registry="http://mlflow.example:5000",
    )


def test_the_written_decision_reads_back_as_it_was(tmp_path: Path) -> None:
    decision = _decision()
    path = tmp_path / "decision.json"
    data = decision.to_bytes()
    path.write_bytes(data)
    read = Decision.read(path)
    assert read == decision
    assert read.to_bytes() == data
    assert read.sha256 == decision.sha256 == sha256_of(data)
    raw = json.loads(data)
    assert list(raw) == [
        "step", "passed", "summary", "task", "rows", "data", "data_digest", "alias",
        "confidence", "resamples", "seed", "candidate", "production", "policy", "rules",
        "slices", "budgets", "metrics", "notes", "registry",
    ]  # fmt: skip
    assert raw["slices"][1] == {
        "metric": "accuracy",
        "scope": "region=south",
        "rows": 4,
        "rule": "must not degrade",
        "passed": True,
        "skipped": "4 rows < min_rows 30",
    }
    assert raw["rules"][0]["mcnemar"] == {
        "candidate_only_correct": 9,
        "production_only_correct": 3,
        "p_value": 0.146,
        "method": "exact",
    }


def _set(*keys: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        node: Any = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("passed", value="false"), "'passed' must be JSON true or false, not 'false'"),
        (_set("passed", value=1), "'passed' must be JSON true or false, not 1"),
        (_set("candidate", "version", value=2), "'candidate.version' must be a string, not 2"),
        (_set("candidate", value="models:/bc/2"), "'candidate' must be a JSON object"),
        (_set("production", "digest", value=["x"]), "'production.digest' must be a string"),
        (_set("rules", 0, "passed", value="yes"), "'rules[0].passed' must be JSON true or false"),
        (_set("rules", 0, "interval", value=[1]), "'rules[0].interval' must be a JSON array"),
        (_set("rules", 0, "interval", value=[1, "2"]), "'rules[0].interval[1]' must be a number"),
        (_set("rules", 0, "direction", value="up"), "'rules[0].direction' must be \"higher\""),
        (_set("rules", 0, "mcnemar", "p_value", value="0.1"), "'rules[0].mcnemar.p_value'"),
        (_set("slices", 1, value=3), "'slices[1]' must be a JSON object, not 3"),
        (_set("slices", 1, "skipped", value=False), "'slices[1].skipped' must be a string"),
        (_set("budgets", 0, "limit", value=True), "'budgets[0].limit' must be a number"),
        (_set("metrics", "candidate", "accuracy", value="high"), "'metrics.candidate.accuracy'"),
        (_set("notes", value=[1]), "'notes' must be a JSON array of strings"),
        (_set("rows", value=1.5), "'rows' must be an integer, not 1.5"),
    ],
)
def test_every_ill_typed_key_is_refused_by_name(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    raw = json.loads(_decision().to_bytes())
    change(raw)
    path = tmp_path / "decision.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(GateFailed) as caught:
        Decision.read(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_or_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(GateFailed, match="no readable compare decision"):
        Decision.read(tmp_path / "nothing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GateFailed, match="not a JSON compare decision"):
        Decision.read(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(GateFailed, match="not a JSON compare decision"):
        Decision.read(tmp_path / "list.json")


def test_what_a_reader_does_not_need_may_be_absent(tmp_path: Path) -> None:
    path = tmp_path / "decision.json"
    path.write_text(json.dumps({"passed": False, "candidate": {"version": "3"}}))
    read = Decision.read(path)
    assert (read.passed, read.candidate.version, read.production, read.rules) == (
        False,
        "3",
        None,
        (),
    )
    assert read.sha256 == sha256_of(path.read_bytes())
