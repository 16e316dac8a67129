"""Rules and slices judged on two models' predictions of the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelci.comparing import stats
from modelci.comparing.decision import RuleVerdict, SkippedSlice, SliceVerdict, finite
from modelci.comparing.rules import Rule, decide
from modelci.comparing.settings import Settings
from modelci.comparing.slices import SliceSpec, build
from modelci.metrics import Predictions, metric, point

if TYPE_CHECKING:
    import pandas as pd

    from modelci.metrics import FloatArray


def rule_verdicts(
    rules: Sequence[Rule], cand: Predictions, prod: Predictions, settings: Settings
) -> list[RuleVerdict]:
    """Every rule on all rows; one set of bootstrap resamples serves all of them."""
    diffs = stats.paired_differences(
        [metric(r.metric) for r in rules],
        cand,
        prod,
        resamples=settings.resamples,
        seed=settings.seed,
    )
    return [_verdict(rule, cand, prod, diffs[rule.metric], settings) for rule in rules]


def slice_verdicts(
    specs: Sequence[SliceSpec],
    data: pd.DataFrame,
    source: str,
    cand: Predictions,
    prod: Predictions,
    settings: Settings,
) -> list[SliceVerdict]:
    """Each slice rule on each value (or bin) of its column; small slices are skipped."""
    found: list[SliceVerdict] = []
    for spec in specs:
        for piece in build(spec, data, source):
            if piece.rows < spec.min_rows:
                found.append(
                    SkippedSlice(
                        metric=spec.rule.metric,
                        scope=piece.scope,
                        rows=piece.rows,
                        rule=spec.rule.kind,
                        reason=f"{piece.rows} rows < min_rows {spec.min_rows}",
                    )
                )
                continue
            c, p = cand.subset(piece.mask), prod.subset(piece.mask)
            diffs = stats.paired_differences(
                [metric(spec.rule.metric)], c, p, resamples=settings.resamples, seed=settings.seed
            )
            found.append(
                _verdict(spec.rule, c, p, diffs[spec.rule.metric], settings, scope=piece.scope)
            )
    return found


def _verdict(
    rule: Rule,
    cand: Predictions,
    prod: Predictions,
    diff: FloatArray,
    settings: Settings,
    *,
    scope: str | None = None,
) -> RuleVerdict:
    measure = metric(rule.metric)
    interval = stats.percentile_interval(diff, settings.confidence)
    test = None
    if settings.mcnemar and measure.accuracy_type:
        test = stats.mcnemar(cand.correct, prod.correct)
    return decide(
        rule,
        point(measure, prod),
        point(measure, cand),
        interval,
        test,
        scope=scope,
        rows=len(cand),
    )


def point_values(names: Sequence[str], pred: Predictions | None) -> dict[str, float | None]:
    """Each metric on all rows; ``None`` where it is undefined on these rows."""
    if pred is None:
        return {}
    return {name: finite(point(metric(name), pred)) for name in names}
