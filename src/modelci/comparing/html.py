"""A self-contained HTML report with plots, candidate beside production.

Every plot is saved as a PNG under ``<run>/compare/plots/`` (for artifacts and PR comments)
and embedded in ``report.html`` as base64, so the page opens anywhere with no other file.
The page also says where the comparison came from (:mod:`modelci.comparing.context`) and
gives McNemar's counts and p-value for each accuracy rule.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from modelci.comparing.context import ReportContext
from modelci.comparing.decision import Decision, RuleVerdict, SkippedSlice, SliceVerdict
from modelci.comparing.plots import make_plots
from modelci.comparing.report import interval_heading
from modelci.metrics import Predictions
from modelci.results import format_number, format_value

REPORT = "report.html"


def report_files(
    decision: Decision,
    candidate: Predictions,
    production: Predictions | None,
    context: ReportContext | None = None,
) -> dict[str, str | bytes]:
    """The HTML report and its plots (``plots/<name>.png``), by path in the step's folder."""
    plots = make_plots(candidate, production)
    files: dict[str, str | bytes] = {}
    images: list[tuple[str, str]] = []
    for name, png in plots.items():
        files[f"plots/{name}.png"] = png
        images.append((name, base64.b64encode(png).decode("ascii")))
    files[REPORT] = render(decision, images, context or ReportContext())
    return files


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem}
th{background:#f4f4f4}.pass{color:#1a7f37}.fail{color:#cf222e}.skip{color:#6e7781}
.plots img{max-width:100%}
figure{margin:1rem 0}
"""


def _cell(value: float | None) -> str:
    return html.escape("—" if value is None else format_value(value))


def _signed(value: float | None) -> str:
    return "—" if value is None else format_number(value, signed=True)


def _interval(item: RuleVerdict) -> str:
    low, high = item.interval
    if low is None or high is None:
        return "—"
    return f"[{format_number(low, signed=True)}, {format_number(high, signed=True)}]"


def _rows(items: Sequence[SliceVerdict], with_scope: bool) -> str:
    out = []
    for item in items:
        judged = item if isinstance(item, RuleVerdict) else None
        if isinstance(item, SkippedSlice):
            verdict = f"skipped ({item.reason})"
        else:
            verdict = f"{'passed' if item.passed else 'failed'}: {item.reason}"
        css = "skip" if isinstance(item, SkippedSlice) else "pass" if item.passed else "fail"
        scope = f"<td>{html.escape(item.scope)}</td><td>{item.rows}</td>" if with_scope else ""
        out.append(
            f"<tr>{scope}<td>{html.escape(item.metric)}</td>"
            f"<td>{_cell(judged.production if judged else None)}</td>"
            f"<td>{_cell(judged.candidate if judged else None)}</td>"
            f"<td>{_signed(judged.difference if judged else None)}</td>"
            f"<td>{_interval(judged) if judged else '—'}</td>"
            f"<td class='{css}'>{html.escape(verdict)}</td></tr>"
        )
    return "\n".join(out)


def render(
    decision: Decision, images: list[tuple[str, str]], context: ReportContext | None = None
) -> str:
    passed = decision.passed
    head = "<th>metric</th><th>production</th><th>candidate</th><th>difference</th>"
    head += f"<th>{interval_heading(decision)}</th><th>verdict</th>"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>modelci compare</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>modelci compare</h1>",
        f"<p class='{'pass' if passed else 'fail'}'><strong>"
        f"{'PASSED' if passed else 'FAILED'}</strong> — "
        f"{html.escape(decision.summary)}</p>",
        _models(decision, context or ReportContext()),
    ]
    if decision.rules:
        parts += [
            "<h2>Rules</h2>",
            f"<table><tr>{head}</tr>",
            _rows(decision.rules, False),
            "</table>",
        ]
    parts += _mcnemar(decision)
    if decision.slices:
        parts += [
            "<h2>Slices</h2>",
            f"<table><tr><th>slice</th><th>rows</th>{head}</tr>",
            _rows(decision.slices, True),
            "</table>",
        ]
    metrics = decision.metrics
    if metrics.candidate:
        parts += [
            "<h2>All metrics</h2>",
            "<table><tr><th>metric</th><th>production</th><th>candidate</th></tr>",
        ]
        for name, value in metrics.candidate.items():
            prod = metrics.production.get(name)
            parts.append(
                f"<tr><td>{html.escape(name)}</td><td>{_cell(prod)}</td><td>{_cell(value)}</td></tr>"
            )
        parts.append("</table>")
    if decision.budgets:
        parts += [
            "<h2>Budgets</h2>",
            "<table><tr><th>budget</th><th>production</th><th>candidate</th><th>limit</th>"
            "<th>verdict</th></tr>",
        ]
        for budget in decision.budgets:
            css = "pass" if budget.passed else "fail"
            parts.append(
                f"<tr><td>{html.escape(budget.name)}</td><td>{_cell(budget.production)}</td>"
                f"<td>{_cell(budget.candidate)}</td><td>{_cell(budget.limit)}</td>"
                f"<td class='{css}'>{'passed' if budget.passed else 'failed'}</td></tr>"
            )
        parts.append("</table>")
    if images:
        parts.append("<h2>Plots</h2><div class='plots'>")
        for name, data in images:
            title = name.replace("_", " ")
            parts.append(
                f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(title)} (plots/{html.escape(name)}.png)</figcaption>"
                "</figure>"
            )
        parts.append("</div>")
    for note in decision.notes:
        parts.append(f"<p><em>{html.escape(note)}</em></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _mcnemar(decision: Decision) -> list[str]:
    """McNemar's counts and p-value of every verdict that has them (accuracy rules)."""
    tested = [v for v in (*decision.rules, *decision.judged_slices) if v.mcnemar is not None]
    if not tested:
        return []
    rows = []
    for verdict in tested:
        test = verdict.mcnemar
        assert test is not None
        rows.append(
            f"<tr><td>{html.escape(verdict.metric)}</td><td>{html.escape(verdict.scope)}</td>"
            f"<td>{test.candidate_only}</td><td>{test.production_only}</td>"
            f"<td>{test.p_value:.3g}</td><td>{html.escape(test.method)}</td></tr>"
        )
    return [
        "<h2>McNemar's test</h2>",
        "<p>Rows only one model got right. It decides “must improve” rules on accuracy; for "
        "“must not degrade” rules it is reported, and the bootstrap interval decides.</p>",
        "<table><tr><th>metric</th><th>rows</th><th>only the candidate right</th>"
        "<th>only production right</th><th>p-value</th><th>test</th></tr>",
        *rows,
        "</table>",
    ]


def _link(url: str | None, text: str) -> str:
    if url and url.startswith(("https://", "http://")):
        return f"<a href='{html.escape(url, quote=True)}'>{html.escape(text)}</a>"
    return html.escape(text)


def _code(text: str | None) -> str:
    return f"<code>{html.escape(text)}</code>" if text else "—"


def _models(decision: Decision, context: ReportContext) -> str:
    prod = decision.production
    cand = decision.candidate
    items = [
        f"<li>candidate: <code>{html.escape(str(cand.uri))}</code>"
        + (f", digest {_code(cand.digest)}" if cand.digest else "")
        + (
            f" · {_link(context.candidate_version, 'MLflow model version')}"
            if context.candidate_version
            else ""
        )
        + (f" · {_link(context.candidate_run, 'MLflow run')}" if context.candidate_run else "")
        + "</li>"
    ]
    if prod:
        alias = f" (@{prod.alias})" if prod.alias else ""
        items.append(
            f"<li>production: <code>{html.escape(str(prod.uri))}</code>{html.escape(alias)}"
            + (f", digest {_code(prod.digest)}" if prod.digest else "")
            + (
                f" · {_link(context.production_version, 'MLflow model version')}"
                if context.production_version
                else ""
            )
            + "</li>"
        )
    else:
        items.append("<li>production: none</li>")
    items.append(
        f"<li>evaluation rows: {decision.rows} from "
        f"<code>{html.escape(str(decision.data))}</code>"
        + (f", digest {_code(decision.data_digest)}" if decision.data_digest else "")
        + "</li>"
    )
    if context.training_data_digest:
        items.append(f"<li>candidate trained on data {_code(context.training_data_digest)}</li>")
    if context.commit or context.ci_run:
        run = f" · {_link(context.ci_run, 'CI run')}" if context.ci_run else ""
        items.append(f"<li>commit {_code(context.commit)}{run}</li>")
    if decision.registry:
        items.append(f"<li>registry: <code>{html.escape(decision.registry)}</code></li>")
    return "<ul>" + "".join(items) + "</ul>"
