"""The decision as people read it: a Markdown table for job summaries and PR/MR comments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelci.results import format_value


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _num(value: Any) -> str:
    return "—" if value is None else format_value(value)


def _signed(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value):+.4g}"


def _interval(item: Mapping[str, Any]) -> str:
    low, high = item.get("interval") or (None, None)
    if low is None or high is None:
        return "—"
    return f"[{float(low):+.4g}, {float(high):+.4g}]"


def _verdict(item: Mapping[str, Any]) -> str:
    if item.get("skipped"):
        return f"⏭️ skipped ({item['skipped']})"
    return ("✅ " if item["passed"] else "❌ ") + str(item["rule"])


def markdown(decision: Mapping[str, Any]) -> str:
    """Heading line, the metric table, slices, budgets and the models compared."""
    passed = decision["passed"]
    lines = [f"**{'✅ passed' if passed else '❌ failed'}** — {decision['summary']}", ""]
    confidence = decision.get("confidence", 0.95)
    rows: list[Mapping[str, Any]] = list(decision.get("rules", []))
    if rows:
        lines += [
            "| metric | production | candidate | difference "
            f"| {confidence:.0%} interval | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for item in rows:
            lines.append(
                f"| {item['metric']} | {_num(item['production'])} | {_num(item['candidate'])} "
                f"| {_signed(item['difference'])} | {_interval(item)} | {_md(_verdict(item))} |"
            )
        info = decision.get("metrics", {})
        judged = {item["metric"] for item in rows}
        for name, cand in info.get("candidate", {}).items():
            if name in judged:
                continue
            prod = info.get("production", {}).get(name)
            diff = None if prod is None or cand is None else cand - prod
            lines.append(
                f"| {name} | {_num(prod)} | {_num(cand)} | {_signed(diff)} | — | ℹ️ not gated |"
            )
    elif decision.get("metrics", {}).get("candidate"):
        lines += ["| metric | candidate |", "|---|---|"]
        for name, value in decision["metrics"]["candidate"].items():
            lines.append(f"| {name} | {_num(value)} |")
    slices = decision.get("slices", [])
    if slices:
        lines += [
            "",
            "**Slices**",
            "",
            f"| slice | rows | metric | production | candidate | difference "
            f"| {confidence:.0%} interval | verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for item in sorted(slices, key=lambda s: (bool(s.get("passed", True)), s["scope"])):
            lines.append(
                f"| {_md(str(item['scope']))} | {item['rows']} | {item['metric']} "
                f"| {_num(item.get('production'))} | {_num(item.get('candidate'))} "
                f"| {_signed(item.get('difference'))} | {_interval(item)} | {_md(_verdict(item))} |"
            )
    budgets = decision.get("budgets", [])
    if budgets:
        lines += ["", "**Budgets**", "", "| budget | production | candidate | limit | verdict |"]
        lines.append("|---|---|---|---|---|")
        for item in budgets:
            mark = "✅" if item["passed"] else "❌"
            lines.append(
                f"| {item['name']} | {_num(item.get('production'))} | {_num(item['candidate'])} "
                f"| {_num(item['limit'])} | {mark} |"
            )
    lines += ["", _models_line(decision)]
    notes = decision.get("notes") or []
    lines += [f"- {_md(note)}" for note in notes]
    return "\n".join(lines)


def _models_line(decision: Mapping[str, Any]) -> str:
    cand = decision.get("candidate") or {}
    prod = decision.get("production")
    text = f"Candidate `{cand.get('uri')}`"
    if prod:
        alias = f" (`@{prod['alias']}`)" if prod.get("alias") else ""
        text += f" vs production `{prod.get('uri')}`{alias}"
    rows = decision.get("rows")
    if rows is not None:
        text += f" on {rows:,} rows"
    if decision.get("resamples") and prod:
        text += (
            f"; paired bootstrap, {decision['resamples']:,} resamples, seed {decision.get('seed')}"
        )
    return text + "."
