"""One comparison: both models predict the same evaluation rows, every rule, slice and budget
is judged, and the gate concludes in a :class:`~modelci.comparing.decision.Decision`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelci.comparing import budgets, judging
from modelci.comparing.decision import (
    Decision,
    MetricValues,
    ModelSide,
    RuleVerdict,
    SliceVerdict,
)
from modelci.comparing.gate import conclude
from modelci.comparing.settings import Settings
from modelci.errors import InputError
from modelci.metrics import METRICS, MetricError, Predictions, Task, check, metric
from modelci.models import prediction
from modelci.models.loading import LoadedModel

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class EvaluationSet:
    """The rows both models are scored on."""

    data: pd.DataFrame
    #: how messages and the decision name it
    source: str
    #: the evaluation set's digest (train's holdout: checked against the registry)
    digest: str | None
    target: str
    #: the task train recorded; ``None``: inferred from the candidate
    task: Task | None = None
    #: train's class order, when recorded
    classes: Sequence[Any] | None = None
    #: train's holdout (it has the candidate's columns), not a set given with --data
    holdout: bool = False


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    #: the encoded predictions, for plots
    candidate: Predictions
    production: Predictions | None


def compare(
    settings: Settings,
    rows: EvaluationSet,
    candidate: LoadedModel,
    production: LoadedModel | None,
    *,
    candidate_side: ModelSide,
    production_side: ModelSide | None,
    notes: Sequence[str] = (),
    registry: str | None = None,
) -> Outcome:
    models = [m for m in (candidate, production) if m is not None]
    features = prediction.feature_frame(rows.data, rows.source, rows.target)
    y_true = rows.data[rows.target].to_numpy()
    task: Task = rows.task or prediction.infer_task(candidate, y_true)
    rules = settings.rules(task)
    slice_specs = settings.slices(task)

    fix = (
        "train's holdout has the candidate's columns only: pass --data with an evaluation "
        "set that has every column both models read"
        if rows.holdout
        else "pass --data with an evaluation set that has every column both models read"
    )
    outputs = [prediction.raw_predict(m, features, task, rows.source, fix=fix) for m in models]
    labels = (
        prediction.class_labels(y_true, outputs, rows.classes) if task == "classification" else []
    )
    preds = [prediction.predictions(task, y_true, out, labels) for out in outputs]
    cand_pred = preds[0]
    prod_pred = preds[1] if production is not None else None
    _check_metrics({r.metric for r in rules} | {s.rule.metric for s in slice_specs}, models, preds)
    info_names = [
        n
        for n, m in METRICS.items()
        if m.task == task and (not m.needs_proba or all(p.proba is not None for p in preds))
    ]
    metric_values = MetricValues(
        judging.point_values(info_names, cand_pred), judging.point_values(info_names, prod_pred)
    )
    rule_verdicts: list[RuleVerdict] = []
    slice_verdicts: list[SliceVerdict] = []
    if prod_pred is not None:
        rule_verdicts = judging.rule_verdicts(rules, cand_pred, prod_pred, settings)
        slice_verdicts = judging.slice_verdicts(
            slice_specs, rows.data, rows.source, cand_pred, prod_pred, settings
        )
    budget_verdicts = budgets.judge(settings.budgets, candidate, production, features)
    passed, summary = conclude(
        rule_verdicts,
        slice_verdicts,
        budget_verdicts,
        has_production=production is not None,
        no_production=settings.no_production,
        notes=notes,
    )
    decision = Decision(
        passed=passed,
        summary=summary,
        candidate=candidate_side,
        production=production_side if production is not None else None,
        task=task,
        rows=len(cand_pred),
        data=rows.source,
        data_digest=rows.digest,
        alias=settings.alias,
        confidence=settings.confidence,
        resamples=settings.resamples,
        seed=settings.seed,
        no_production=settings.no_production,
        rules=tuple(rule_verdicts),
        slices=tuple(slice_verdicts),
        budgets=tuple(budget_verdicts),
        metrics=metric_values,
        notes=tuple(notes),
        registry=registry,
    )
    return Outcome(decision, cand_pred, prod_pred)


def _check_metrics(
    wanted: set[str], models: Sequence[LoadedModel], preds: Sequence[Predictions]
) -> None:
    """Every judged metric can be computed for both models, before any bootstrap runs."""
    for model, pred in zip(models, preds, strict=True):
        for name in sorted(wanted):
            measure = metric(name)
            if measure.needs_proba and pred.proba is None:
                raise InputError(
                    f"metric {name!r} needs class probabilities, but the {model.role} model "
                    f"({model.uri}) gives none; drop the rule or log a model with predict_proba"
                )
            try:
                check(measure, pred)
            except MetricError as exc:
                raise MetricError(f"{exc}, for the {model.role} model ({model.uri})") from None
