"""A self-contained HTML report with plots, candidate beside production.

Every plot is saved as a PNG under ``<run>/compare/plots/`` (for artifacts and PR comments)
and embedded in ``report.html`` as base64, so the page opens anywhere with no other file.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from modelci import fsutil
from modelci.comparing.decision import Decision, RuleVerdict, SkippedSlice, SliceVerdict
from modelci.comparing.report import interval_heading
from modelci.metrics import Predictions
from modelci.results import format_value

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLORS = {"production": "#7f7f7f", "candidate": "#1f77b4"}


def write_report(
    step_dir: Path,
    decision: Decision,
    candidate: Predictions,
    production: Predictions | None,
) -> Path:
    plots = make_plots(candidate, production)
    folder = step_dir / "plots"
    images: list[tuple[str, str]] = []
    for name, png in plots.items():
        fsutil.write_bytes(folder / f"{name}.png", png)
        images.append((name, base64.b64encode(png).decode("ascii")))
    page = step_dir / "report.html"
    fsutil.write_text(page, render(decision, images))
    return page


def make_plots(candidate: Predictions, production: Predictions | None) -> dict[str, bytes]:
    """PNG bytes by plot name; both models in each plot when production exists."""
    import matplotlib

    matplotlib.use("Agg")  # no display on CI runners
    models: list[tuple[str, Predictions]] = [("candidate", candidate)]
    if production is not None:
        models.insert(0, ("production", production))
    plots: dict[str, bytes] = {}
    if candidate.task == "classification":
        if all(p.proba is not None for _, p in models):
            plots["roc_curve"] = _png(_curves(models, "roc"))
            plots["pr_curve"] = _png(_curves(models, "pr"))
        plots["confusion_matrix"] = _png(_confusion(models))
    else:
        plots["predicted_vs_actual"] = _png(_scatter(models))
        plots["residuals"] = _png(_residuals(models))
    return plots


def _png(figure: Figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # fixed metadata keeps the bytes identical for identical data
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _binary_scores(p: Predictions) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Binary: the positive class score; multiclass: one-vs-rest pooled (micro average)."""
    assert p.proba is not None
    if len(p.classes) == 2:
        return (p.y_true == 1).astype(int), p.proba[:, 1]
    onehot = np.zeros_like(p.proba)
    onehot[np.arange(len(p)), p.y_true.astype(int)] = 1
    return onehot.ravel().astype(int), p.proba.ravel()


def _curves(models: list[tuple[str, Predictions]], kind: str) -> Figure:
    import matplotlib.pyplot as plt
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    figure, axes = plt.subplots(figsize=(5.5, 4.5))
    for role, pred in models:
        truth, score = _binary_scores(pred)
        if len(np.unique(truth)) < 2:
            continue
        if kind == "roc":
            fpr, tpr, _ = roc_curve(truth, score)
            axes.plot(fpr, tpr, color=COLORS[role], label=f"{role} (AUC {auc(fpr, tpr):.3f})")
        else:
            precision, recall, _ = precision_recall_curve(truth, score)
            ap = average_precision_score(truth, score)
            axes.plot(recall, precision, color=COLORS[role], label=f"{role} (AP {ap:.3f})")
    if kind == "roc":
        axes.plot([0, 1], [0, 1], linestyle=":", color="#bbbbbb")
        axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    else:
        axes.set(xlabel="recall", ylabel="precision", title="Precision-recall curve")
    if axes.get_legend_handles_labels()[0]:
        # No curve (a single class in the evaluation set): a legend would only warn on stderr.
        axes.legend(loc="lower right" if kind == "roc" else "lower left")
    figure.tight_layout()
    return figure


Panel = Any  # a matplotlib Axes; matplotlib is imported only when plots are drawn


def _side_by_side(
    models: list[tuple[str, Predictions]], draw: Callable[[Panel, str, Predictions], None]
) -> Figure:
    """One panel per model, same size and layout, each titled with its role."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(models), figsize=(4.5 * len(models), 4.2), squeeze=False)
    for ax, (role, pred) in zip(axes[0], models, strict=True):
        draw(ax, role, pred)
        ax.set_title(role)
    figure.tight_layout()
    return figure


def _confusion(models: list[tuple[str, Predictions]]) -> Figure:
    k = len(models[0][1].classes)

    def draw(ax: Panel, role: str, pred: Predictions) -> None:
        matrix = np.zeros((k, k), dtype=int)
        np.add.at(matrix, (pred.y_true.astype(int), pred.y_pred.astype(int)), 1)
        ax.imshow(matrix, cmap="Blues")
        for i in range(k):
            for j in range(k):
                dark = matrix[i, j] > matrix.max() / 2  # light text on dark cells
                color = "white" if dark else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8, color=color)
        names = [str(c) for c in pred.classes]
        ax.set_xticks(range(k), names, rotation=45 if k > 4 else 0)
        ax.set_yticks(range(k), names)
        ax.set(xlabel="predicted", ylabel="actual")

    return _side_by_side(models, draw)


def _scatter(models: list[tuple[str, Predictions]]) -> Figure:
    def draw(ax: Panel, role: str, pred: Predictions) -> None:
        ax.scatter(pred.y_true, pred.y_pred, s=6, alpha=0.5, color=COLORS[role])
        low = float(min(np.min(pred.y_true), np.min(pred.y_pred)))
        high = float(max(np.max(pred.y_true), np.max(pred.y_pred)))
        ax.plot([low, high], [low, high], linestyle=":", color="#555555")
        ax.set(xlabel="actual", ylabel="predicted")

    return _side_by_side(models, draw)


def _residuals(models: list[tuple[str, Predictions]]) -> Figure:
    def draw(ax: Panel, role: str, pred: Predictions) -> None:
        ax.scatter(pred.y_pred, pred.y_pred - pred.y_true, s=6, alpha=0.5, color=COLORS[role])
        ax.axhline(0, linestyle=":", color="#555555")
        ax.set(xlabel="predicted", ylabel="residual (predicted − actual)")

    return _side_by_side(models, draw)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem}
th{background:#f4f4f4}.pass{color:#1a7f37}.fail{color:#cf222e}.plots img{max-width:100%}
figure{margin:1rem 0}
"""


def _cell(value: float | None) -> str:
    return html.escape("—" if value is None else format_value(value))


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.4g}"


def _interval(item: RuleVerdict) -> str:
    low, high = item.interval
    if low is None or high is None:
        return "—"
    return f"[{low:+.4g}, {high:+.4g}]"


def _rows(items: Sequence[SliceVerdict], with_scope: bool) -> str:
    out = []
    for item in items:
        judged = item if isinstance(item, RuleVerdict) else None
        if isinstance(item, SkippedSlice):
            verdict = f"skipped ({item.reason})"
        else:
            verdict = f"{'passed' if item.passed else 'failed'}: {item.reason}"
        css = "pass" if item.passed else "fail"
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


def render(decision: Decision, images: list[tuple[str, str]]) -> str:
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
        _models(decision),
    ]
    if decision.rules:
        parts += [
            "<h2>Rules</h2>",
            f"<table><tr>{head}</tr>",
            _rows(decision.rules, False),
            "</table>",
        ]
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


def _models(decision: Decision) -> str:
    prod = decision.production
    items = [f"<li>candidate: <code>{html.escape(str(decision.candidate.uri))}</code></li>"]
    if prod:
        alias = f" (@{prod.alias})" if prod.alias else ""
        items.append(
            f"<li>production: <code>{html.escape(str(prod.uri))}</code>{html.escape(alias)}</li>"
        )
    else:
        items.append("<li>production: none</li>")
    items.append(
        f"<li>evaluation rows: {decision.rows} from "
        f"<code>{html.escape(str(decision.data))}</code></li>"
    )
    return "<ul>" + "".join(items) + "</ul>"
