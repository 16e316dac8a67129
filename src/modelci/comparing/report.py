"""The decision as people read it: a Markdown table for job summaries and PR/MR comments."""

from __future__ import annotations

from collections.abc import Sequence

from modelci.comparing.decision import Decision, RuleVerdict, SkippedSlice, SliceVerdict
from modelci.reports import markdown_cell
from modelci.results import format_number, format_value


def _num(value: float | None) -> str:
    return "—" if value is None else format_value(value)


def _signed(value: float | None) -> str:
    return "—" if value is None else format_number(value, signed=True)


def _interval(item: RuleVerdict) -> str:
    low, high = item.interval
    if low is None or high is None:
        return "—"
    return f"[{format_number(low, signed=True)}, {format_number(high, signed=True)}]"


def _verdict(item: SliceVerdict) -> str:
    if isinstance(item, SkippedSlice):
        return f"⏭️ skipped ({item.reason})"
    return ("✅ " if item.passed else "❌ ") + item.rule


def interval_heading(decision: Decision) -> str:
    """ "95% interval", or just "interval" for a decision that does not say its level."""
    if decision.confidence is None:
        return "interval"
    return f"{decision.confidence:.0%} interval"


def markdown(decision: Decision) -> str:
    """Heading line, the metric table, slices, budgets and the models compared."""
    lines = [
        f"**{'✅ passed' if decision.passed else '❌ failed'}** — {decision.summary}",
        "",
    ]
    heading = interval_heading(decision)
    metrics = decision.metrics
    if decision.rules:
        lines += [
            f"| metric | production | candidate | difference | {heading} | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for item in decision.rules:
            lines.append(
                f"| {item.metric} | {_num(item.production)} | {_num(item.candidate)} "
                f"| {_signed(item.difference)} | {_interval(item)} "
                f"| {markdown_cell(_verdict(item))} |"
            )
        judged = {item.metric for item in decision.rules}
        for name, cand in metrics.candidate.items():
            if name in judged:
                continue
            prod = metrics.production.get(name)
            diff = None if prod is None or cand is None else cand - prod
            lines.append(
                f"| {name} | {_num(prod)} | {_num(cand)} | {_signed(diff)} | — | ℹ️ not gated |"
            )
        lines += _mcnemar(decision.rules)
    elif metrics.candidate:
        lines += ["| metric | candidate |", "|---|---|"]
        for name, value in metrics.candidate.items():
            lines.append(f"| {name} | {_num(value)} |")
    if decision.slices:
        lines += [
            "",
            "**Slices**",
            "",
            f"| slice | rows | metric | production | candidate | difference | {heading} "
            "| verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for piece in sorted(decision.slices, key=lambda s: (s.passed, s.scope)):
            row = piece if isinstance(piece, RuleVerdict) else None
            lines.append(
                f"| {markdown_cell(piece.scope)} | {piece.rows} | {piece.metric} "
                f"| {_num(row.production if row else None)} "
                f"| {_num(row.candidate if row else None)} "
                f"| {_signed(row.difference if row else None)} "
                f"| {_interval(row) if row else '—'} "
                f"| {markdown_cell(_verdict(piece))} |"
            )
    if decision.budgets:
        lines += ["", "**Budgets**", "", "| budget | production | candidate | limit | verdict |"]
        lines.append("|---|---|---|---|---|")
        for budget in decision.budgets:
            mark = "✅" if budget.passed else "❌"
            lines.append(
                f"| {budget.name} | {_num(budget.production)} | {_num(budget.candidate)} "
                f"| {_num(budget.limit)} | {mark} |"
            )
    lines += ["", _models_line(decision)]
    lines += [f"- {markdown_cell(note)}" for note in decision.notes]
    return "\n".join(lines)


def _mcnemar(rules: Sequence[RuleVerdict]) -> list[str]:
    """One line per rule with McNemar's test: its counts, p-value and method."""
    lines = []
    for rule in rules:
        if rule.mcnemar is None:
            continue
        test = rule.mcnemar
        lines.append(
            f"McNemar's test on {rule.metric}: {test.candidate_only} rows only the candidate "
            f"got right, {test.production_only} only production; p = {test.p_value:.3g} "
            f"({test.method})"
        )
    return ["", *lines] if lines else []


def _models_line(decision: Decision) -> str:
    prod = decision.production
    text = f"Candidate `{decision.candidate.uri}`"
    if prod:
        alias = f" (`@{prod.alias}`)" if prod.alias else ""
        text += f" vs production `{prod.uri}`{alias}"
    if decision.rows is not None:
        text += f" on {decision.rows:,} rows"
    if decision.resamples and prod:
        text += f"; paired bootstrap, {decision.resamples:,} resamples, seed {decision.seed}"
    return text + "."
