"""Gate rules: what "better" and "not worse" mean, decided from a bootstrap interval.

Every rule looks at the *improvement* of the candidate over production: ``candidate -
production`` for metrics where higher is better, ``production - candidate`` where lower is
better. Its two-sided confidence interval comes from the paired bootstrap; the decision uses
its lower bound, so a rule passes only when the data leave little doubt:

- must not degrade: lower bound > ``-max_degradation``
- must improve (``min_improvement`` set): lower bound > ``min_improvement``, and, for
  accuracy-type metrics with ``mcnemar: true``, McNemar's test agrees that the candidate's
  extra correct rows are not chance (p < 1 - confidence).

With ``relative: true`` both thresholds are fractions of the production value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci.comparing.decision import ALL_ROWS, McNemar, RuleVerdict, finite
from modelci.errors import ConfigError
from modelci.metrics import DEFAULT_METRIC, METRICS, Direction, UnknownMetric, resolve
from modelci.results import format_number

if TYPE_CHECKING:
    from modelci.comparing.stats import Interval

DEFAULT_MAX_DEGRADATION = 0.01


@dataclass(frozen=True)
class Rule:
    metric: str
    direction: Direction
    max_degradation: float = DEFAULT_MAX_DEGRADATION
    relative: bool = False
    min_improvement: float | None = None

    @property
    def kind(self) -> str:
        return "must improve" if self.min_improvement is not None else "must not degrade"

    def thresholds(self, production: float) -> tuple[str, float]:
        """(comparison text, the bound the improvement's lower bound must exceed)."""
        scale = abs(production) if self.relative else 1.0
        if self.min_improvement is not None:
            return "improvement", self.min_improvement * scale
        return "degradation", -self.max_degradation * scale

    def describe(self) -> str:
        unit = "% of production" if self.relative else ""
        if self.min_improvement is not None:
            amount = self.min_improvement * (100 if self.relative else 1)
            return f"must improve by more than {amount:g}{unit}"
        amount = self.max_degradation * (100 if self.relative else 1)
        return f"must not degrade by more than {amount:g}{unit}"


def parse_rules(
    raw: Mapping[str, Any] | None,
    task: str,
    where: str,
    *,
    allow_empty: bool = False,
    base_dir: Path | None = None,
) -> list[Rule]:
    """Rules from ``compare.rules``; the task's default rule when there are none."""
    if not raw:
        if allow_empty:
            return []
        name = DEFAULT_METRIC[task]
        direction = METRICS[name].direction or "higher"
        relative = direction == "lower"  # error metrics have no natural scale
        return [Rule(name, direction, relative=relative)]
    return [
        parse_rule(name, spec or {}, task, f"{where}.{name}", base_dir=base_dir)
        for name, spec in raw.items()
    ]


def parse_rule(
    name: str, spec: Mapping[str, Any], task: str, where: str, *, base_dir: Path | None = None
) -> Rule:
    """One rule; a metric the task cannot compute, or a function without a declared
    direction, is refused naming ``where``."""
    declared = spec.get("direction")
    try:
        found = resolve(name, task, direction=declared, base_dir=base_dir)
    except UnknownMetric as exc:
        raise ConfigError(str(exc), source=where) from None
    direction = declared or found.direction
    if direction is None:
        raise ConfigError(
            f"metric {name!r} is your function: say which way is better with "
            "direction: higher or direction: lower",
            source=where,
        )
    max_deg = spec.get("max_degradation")
    return Rule(
        metric=name,
        direction=direction,
        max_degradation=DEFAULT_MAX_DEGRADATION if max_deg is None else float(max_deg),
        relative=bool(spec.get("relative", False)),
        min_improvement=(
            None if spec.get("min_improvement") is None else float(spec["min_improvement"])
        ),
    )


def improvement_bounds(rule: Rule, interval: Interval) -> tuple[float, float]:
    """The interval of ``candidate - production`` turned so that positive means better."""
    if rule.direction == "higher":
        return interval.low, interval.high
    return -interval.high, -interval.low


def decide(
    rule: Rule,
    production: float,
    candidate: float,
    interval: Interval,
    mcnemar: McNemar | None,
    *,
    scope: str | None = None,
    rows: int = 0,
) -> RuleVerdict:
    low, high = improvement_bounds(rule, interval)
    _, bound = rule.thresholds(production)
    pct = f"{interval.confidence:.0%}"
    if math.isnan(low):
        passed = False
        reason = (
            f"{rule.metric} is undefined on these rows (e.g. only one class present); "
            "cannot show the candidate is not worse"
        )
    elif rule.min_improvement is not None:
        passed = low > bound
        reason = (
            f"{pct} lower bound of the improvement {format_number(low, signed=True)} "
            f"{'>' if passed else '<='} required {format_number(bound, signed=True)}"
        )
        if passed and mcnemar is not None:
            alpha = 1.0 - interval.confidence
            better = mcnemar.candidate_only > mcnemar.production_only
            if not (better and mcnemar.p_value < alpha):
                passed = False
                reason += (
                    f", but McNemar's test does not confirm it (p={mcnemar.p_value:.3g}, "
                    f"{mcnemar.candidate_only} vs {mcnemar.production_only} rows)"
                )
    else:
        passed = low > bound
        reason = (
            f"{pct} lower bound of the improvement {format_number(low, signed=True)} "
            f"{'>' if passed else '<='} allowed {format_number(bound, signed=True)}"
        )
    return RuleVerdict(
        metric=rule.metric,
        scope=scope or ALL_ROWS,
        rows=rows,
        rule=rule.kind,
        direction=rule.direction,
        production=finite(production),
        candidate=finite(candidate),
        difference=finite(candidate - production),
        interval=(finite(interval.low), finite(interval.high)),
        confidence=interval.confidence,
        resamples=interval.resamples,
        improvement_low=finite(low),
        improvement_high=finite(high),
        threshold=finite(bound),
        relative=rule.relative,
        passed=passed,
        reason=reason,
        undefined_resamples=interval.undefined,
        mcnemar=mcnemar,
    )
