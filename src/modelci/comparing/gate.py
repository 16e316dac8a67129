"""The gate over every verdict: passed or not, and the one line that says why."""

from __future__ import annotations

from collections.abc import Sequence

from modelci.comparing.decision import Budget, RuleVerdict, SliceVerdict
from modelci.results import format_number

#: failures named in the summary line; the rest are counted
SHOWN_FAILURES = 3


def conclude(
    rules: Sequence[RuleVerdict],
    slices: Sequence[SliceVerdict],
    budgets: Sequence[Budget],
    *,
    has_production: bool,
    no_production: str,
    notes: Sequence[str],
) -> tuple[bool, str]:
    """``(passed, summary)`` of a comparison."""
    failed_budgets = [b for b in budgets if not b.passed]
    if not has_production:
        passed = no_production == "pass" and not failed_budgets
        first = "; ".join(notes) or "no production model"
        summary = (
            f"no production model to compare with ({first}): "
            f"{'passed' if no_production == 'pass' else 'failed'} under the "
            f"no_production: {no_production} policy"
            + (f"; budget exceeded: {_names(failed_budgets)}" if failed_budgets else "")
        )
        return passed, summary
    failures = [
        *(r for r in rules if not r.passed),
        *(s for s in slices if isinstance(s, RuleVerdict) and not s.passed),
    ]
    if not failures and not failed_budgets:
        judged = len(rules) + len([s for s in slices if isinstance(s, RuleVerdict)])
        return True, f"compare passed: the candidate meets all {judged} rules against production"
    parts = [failure(item) for item in failures[:SHOWN_FAILURES]]
    if len(failures) > SHOWN_FAILURES:
        parts.append(f"{len(failures) - SHOWN_FAILURES} more rules failed")
    if failed_budgets:
        parts.append(f"over budget on {_names(failed_budgets)}")
    return False, f"compare failed: {'; '.join(parts)}"


def failure(item: RuleVerdict) -> str:
    """Why one rule failed, honestly: "may be worse", since a wide interval is not a loss."""
    where = item.metric + ("" if item.on_all_rows else f" on {item.scope}")
    low, bound = item.improvement_low, item.threshold
    if low is None or bound is None:
        return f"{where} is undefined on these rows"
    shown = format_number(low, signed=True)
    evidence = f"{item.confidence:.0%} lower bound of the improvement {shown}"
    if item.rule == "must improve":
        return f"{where} did not improve by more than {format_number(bound)} ({evidence})"
    return f"{where} may be worse than production by more than {format_number(-bound)} ({evidence})"


def _names(budgets: Sequence[Budget]) -> str:
    shown = [b.name for b in budgets[:SHOWN_FAILURES]]
    more = len(budgets) - SHOWN_FAILURES
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")
