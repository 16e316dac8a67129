"""The decision as a step result: one check per rule, slice and budget, outputs and metrics."""

from __future__ import annotations

from modelci.comparing.decision import Decision, SkippedSlice, SliceVerdict
from modelci.comparing.report import markdown
from modelci.results import Check, StepResult, format_number

STEP = "compare"


def checks(decision: Decision) -> list[Check]:
    found = [_check(item) for item in (*decision.rules, *decision.slices)]
    for budget in decision.budgets:
        found.append(
            Check(
                rule=f"budget {budget.name}",
                passed=budget.passed,
                observed=budget.candidate,
                expected=f"<= {budget.limit:g}",
                message=f"candidate {budget.name} {budget.candidate} vs limit {budget.limit}",
            )
        )
    if decision.production is None:
        policy = decision.no_production
        # A pass without a production model is not a comparison: a failed check of severity
        # warning, so CI shows it as a warning annotation rather than a silent green.
        found.append(
            Check(
                rule="production model exists",
                passed=False,
                observed="none",
                expected=f"no_production: {policy}",
                message=decision.summary,
                severity="warning" if policy == "pass" else "error",
            )
        )
    return found


def _check(item: SliceVerdict) -> Check:
    if isinstance(item, SkippedSlice):
        return Check(
            rule=f"{item.metric} {item.rule}",
            passed=True,
            column=item.scope,
            observed=f"{item.rows} rows",
            message=f"not judged: {item.reason}",
            skipped=True,
        )
    return Check(
        rule=f"{item.metric} {item.rule}",
        passed=item.passed,
        column=None if item.on_all_rows else item.scope,
        observed=item.improvement_low,
        expected=None
        if item.threshold is None
        else f"> {format_number(item.threshold, signed=True)}",
        message=item.reason,
    )


def step_result(decision: Decision) -> StepResult:
    """What the CI adapters publish: checks, outputs, every metric of both models."""
    metrics: dict[str, float] = {}
    for role, values in (
        ("candidate", decision.metrics.candidate),
        ("production", decision.metrics.production),
    ):
        for name, value in values.items():
            if value is not None:
                metrics[f"{role}_{name}"] = value
    return StepResult(
        step=STEP,
        passed=decision.passed,
        summary=decision.summary,
        checks=checks(decision),
        outputs={
            "candidate": str(decision.candidate.uri),
            "production": str(decision.production.uri or "") if decision.production else "",
        },
        metrics=metrics,
        markdown=markdown(decision),
        details={"decision": decision.to_json()},
    )
