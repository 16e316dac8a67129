"""The compare plots, candidate beside production: PNG bytes with fixed metadata, so the same
data gives the same bytes.

Classification: ROC and precision-recall curves (both models on one plot, from class
probabilities) and the confusion matrices side by side. The ROC legend gives the AUC the
gate judges: for more than two classes that is the macro average of the one-vs-rest AUCs,
so the curve drawn is the macro average of the one-vs-rest curves. Regression: predicted
against actual and residuals, side by side on shared axes so the two panels compare.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from modelci.metrics import METRICS, Predictions, point

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

    Curve = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], str]

COLORS = {"production": "#7f7f7f", "candidate": "#1f77b4"}

Models = Sequence[tuple[str, Predictions]]
Panel = Any  # a matplotlib Axes; matplotlib is imported only when plots are drawn


def make_plots(candidate: Predictions, production: Predictions | None) -> dict[str, bytes]:
    """PNG bytes by plot name; both models in each plot when production exists."""
    return {name: png(figure) for name, figure in figures(candidate, production).items()}


def figures(candidate: Predictions, production: Predictions | None) -> dict[str, Figure]:
    """The figures by plot name (closed once turned into PNGs by :func:`png`)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on CI runners
    models: list[tuple[str, Predictions]] = [("candidate", candidate)]
    if production is not None:
        models.insert(0, ("production", production))
    found: dict[str, Figure] = {}
    if candidate.task == "classification":
        if all(p.proba is not None for _, p in models):
            found["roc_curve"] = _roc_figure(models)
            found["pr_curve"] = _pr_figure(models)
        found["confusion_matrix"] = _confusion(models)
    else:
        found["predicted_vs_actual"] = _scatter(models)
        found["residuals"] = _residuals(models)
    return found


def png(figure: Figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # fixed metadata keeps the bytes identical for identical data
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _multiclass(models: Models) -> bool:
    return len(models[0][1].classes) > 2


def roc_curve(pred: Predictions) -> Curve | None:
    """The curve and legend of the AUC the gate judges; ``None`` where it is undefined."""
    import numpy as np
    from sklearn.metrics import roc_curve as sklearn_roc_curve

    assert pred.proba is not None
    gated = point(METRICS["roc_auc"], pred)
    if not np.isfinite(gated):
        return None
    if len(pred.classes) == 2:
        fpr, tpr, _ = sklearn_roc_curve(pred.y_true == 1, pred.proba[:, 1])
        return fpr, tpr, f"AUC {gated:.3f}"
    # The gated AUC averages the one-vs-rest areas of the classes present; the curve
    # averages their true positive rates on every false positive rate any of them reaches.
    curves = []
    for k in range(len(pred.classes)):
        positive = pred.y_true == k
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = sklearn_roc_curve(positive, pred.proba[:, k])
        curves.append((fpr, tpr))
    grid = np.unique(np.concatenate([fpr for fpr, _ in curves]))
    mean = np.mean([np.interp(grid, fpr, tpr) for fpr, tpr in curves], axis=0)
    return grid, mean, f"macro one-vs-rest AUC {gated:.3f}"


def _roc_figure(models: Models) -> Figure:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.5, 4.5))
    for role, pred in models:
        curve = roc_curve(pred)
        if curve is not None:
            axes.plot(curve[0], curve[1], color=COLORS[role], label=f"{role} ({curve[2]})")
    axes.plot([0, 1], [0, 1], linestyle=":", color="#bbbbbb")
    title = "ROC curve (one-vs-rest, macro average)" if _multiclass(models) else "ROC curve"
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    _legend(axes, "lower right")
    figure.tight_layout()
    return figure


def _pr_figure(models: Models) -> Figure:
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import average_precision_score, precision_recall_curve

    figure, axes = plt.subplots(figsize=(5.5, 4.5))
    for role, pred in models:
        assert pred.proba is not None
        if len(pred.classes) == 2:
            truth, score = (pred.y_true == 1).astype(int), pred.proba[:, 1]
        else:  # every (row, class) pair pooled: the micro average, as the title says
            onehot = np.zeros_like(pred.proba)
            onehot[np.arange(len(pred)), pred.y_true.astype(int)] = 1
            truth, score = onehot.ravel().astype(int), pred.proba.ravel()
        if len(np.unique(truth)) < 2:
            continue
        precision, recall, _ = precision_recall_curve(truth, score)
        ap = average_precision_score(truth, score)
        axes.plot(recall, precision, color=COLORS[role], label=f"{role} (AP {ap:.3f})")
    title = "Precision-recall curve"
    if _multiclass(models):
        title += " (one-vs-rest, micro average)"
    axes.set(xlabel="recall", ylabel="precision", title=title)
    _legend(axes, "lower left")
    figure.tight_layout()
    return figure


def _legend(axes: Panel, where: str) -> None:
    # No curve (a single class in the evaluation set): a legend would only warn on stderr.
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc=where)


def _side_by_side(
    models: Models, draw: Callable[[Panel, str, Predictions], None], *, shared: bool = False
) -> Figure:
    """One panel per model, same size and layout, each titled with its role; ``shared``
    puts them on the same axes, so equal distances look equal."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        1,
        len(models),
        figsize=(4.5 * len(models), 4.2),
        squeeze=False,
        sharex=shared,
        sharey=shared,
    )
    for ax, (role, pred) in zip(axes[0], models, strict=True):
        draw(ax, role, pred)
        ax.set_title(role)
    figure.tight_layout()
    return figure


def _confusion(models: Models) -> Figure:
    import numpy as np

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


def _scatter(models: Models) -> Figure:
    import numpy as np

    values = np.concatenate([np.r_[p.y_true, p.y_pred] for _, p in models])
    low, high = float(np.min(values)), float(np.max(values))

    def draw(ax: Panel, role: str, pred: Predictions) -> None:
        ax.scatter(pred.y_true, pred.y_pred, s=6, alpha=0.5, color=COLORS[role])
        ax.plot([low, high], [low, high], linestyle=":", color="#555555")
        ax.set(xlabel="actual", ylabel="predicted")

    return _side_by_side(models, draw, shared=True)


def _residuals(models: Models) -> Figure:
    def draw(ax: Panel, role: str, pred: Predictions) -> None:
        ax.scatter(pred.y_pred, pred.y_pred - pred.y_true, s=6, alpha=0.5, color=COLORS[role])
        ax.axhline(0, linestyle=":", color="#555555")
        ax.set(xlabel="predicted", ylabel="residual (predicted − actual)")

    return _side_by_side(models, draw, shared=True)
