"""The metrics modelci knows: what each one is (task, direction, need for probabilities) and
how to compute it, for train (one value on the holdout) and compare (a bootstrap
distribution) alike, so the two steps cannot disagree on what a metric means.

A bootstrap resample is a row of multiplicities ``W[b, i]`` (how often row ``i`` was drawn
in resample ``b``). Every metric is written as matrix products with ``W``, so 2000 resamples
of 10 000 rows cost a handful of BLAS calls rather than 2000 Python-level metric calls. The
point estimate is the same function with ``W`` a single row of ones, so the reported value
and the bootstrap can never disagree.

Definitions follow scikit-learn: binary precision/recall/F1 score the second of the sorted
class labels (the "positive" one for 0/1 or False/True targets), multiclass ones are macro
averages over all labels; ROC AUC is one-vs-rest macro for multiclass; log loss clips
probabilities to [1e-15, 1]. A value that is undefined on the rows given (ROC AUC with one
class, R² of a constant target) is NaN, and :func:`compute_metrics` leaves it out rather
than guess.

Besides its own metrics, a rule or ``train.metrics`` may name any scikit-learn scorer
(``sklearn.metrics.get_scorer_names()``: ``average_precision``, ``neg_brier_score``, ...)
or a function by import path (``package.module:function``). Those are called once per
bootstrap resample on the drawn rows, so they cost a Python call (milliseconds) per
resample where the metrics here cost a matrix product per block of resamples.

numpy is imported inside the functions: config checks and the CLI read names and tasks
from here without loading it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modelci.errors import InputError, first_line

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]
    MetricFn = Callable[["Predictions", FloatArray], FloatArray]
    #: a metric's value on the rows given by index (repeats allowed: a bootstrap resample)
    RowsFn = Callable[["Predictions", IntArray], float]

Task = Literal["classification", "regression"]
Direction = Literal["higher", "lower"]

TASKS: tuple[Task, ...] = ("classification", "regression")

#: what a metric name may look like: an identifier (modelci's own, a scikit-learn scorer) or
#: ``package.module:function``; the config schemas hold the same pattern (a test checks it)
NAME_PATTERN = (
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
    r"(:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?$"
)

_EPS = 1e-15


@dataclass(frozen=True)
class Predictions:
    """One model's predictions on the evaluation rows, encoded for fast metrics.

    Classification: ``y_true`` and ``y_pred`` are class codes (indices into ``classes``) and
    ``proba`` has one column per class, or is ``None`` when the model cannot give
    probabilities. Regression: ``y_true``/``y_pred`` are floats and ``classes`` is empty.
    """

    task: Task
    y_true: npt.NDArray[Any]
    y_pred: npt.NDArray[Any]
    proba: FloatArray | None = None
    classes: tuple[Any, ...] = ()

    def __len__(self) -> int:
        return int(self.y_true.shape[0])

    def subset(self, mask: npt.NDArray[np.bool_]) -> Predictions:
        return Predictions(
            self.task,
            self.y_true[mask],
            self.y_pred[mask],
            None if self.proba is None else self.proba[mask],
            self.classes,
        )

    @property
    def correct(self) -> FloatArray:
        import numpy as np

        return np.asarray(self.y_true == self.y_pred, dtype=np.float64)


class MetricError(InputError):
    """A metric that cannot be computed on these predictions (exit 2)."""


class UnknownMetric(ValueError):
    """A name that is no metric for this task; the caller says where it was set."""


@dataclass(frozen=True)
class Metric:
    """A metric: its task, which way is better, and how to compute it."""

    name: str
    #: ``None``: a scorer or function, tried on whatever task it is given
    task: Task | None
    #: ``None``: a function whose direction was not declared (train does not need it)
    direction: Direction | None
    #: values for a stack of resamples: ``fn(predictions, W)`` has one value per row of ``W``
    fn: MetricFn = field(repr=False)
    #: computed from class probabilities; left out when the model gives none
    needs_proba: bool = False
    #: per-row correctness makes McNemar's test meaningful
    accuracy_type: bool = False
    #: a scorer or function: its value on all rows, raising where it cannot be computed
    on_rows: RowsFn | None = field(default=None, repr=False)

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"


# --- vectorised functions -----------------------------------------------------------------


def _n(weights: FloatArray) -> FloatArray:
    import numpy as np

    return np.asarray(weights.sum(axis=1), dtype=np.float64)


def _safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
    import numpy as np

    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den != 0)
    return out


def _onehot(codes: npt.NDArray[Any], k: int) -> FloatArray:
    import numpy as np

    out = np.zeros((codes.shape[0], k))
    out[np.arange(codes.shape[0]), codes.astype(np.int64)] = 1.0
    return out


def _accuracy(p: Predictions, w: FloatArray) -> FloatArray:
    return _safe_div(w @ p.correct, _n(w))


def _per_class_counts(p: Predictions, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    k = len(p.classes)
    true_1h = _onehot(p.y_true, k)
    pred_1h = _onehot(p.y_pred, k)
    tp = w @ (true_1h * pred_1h)
    return tp, w @ pred_1h, w @ true_1h


def _scored_classes(p: Predictions) -> list[int]:
    # Binary scores follow scikit-learn's pos_label: the second (greater) label.
    return [1] if len(p.classes) == 2 else list(range(len(p.classes)))


def _precision(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    tp, predicted, _ = _per_class_counts(p, w)
    return np.asarray(
        _safe_div(tp, predicted)[:, _scored_classes(p)].mean(axis=1), dtype=np.float64
    )


def _recall(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    tp, _, actual = _per_class_counts(p, w)
    return np.asarray(_safe_div(tp, actual)[:, _scored_classes(p)].mean(axis=1), dtype=np.float64)


def _f1(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    tp, predicted, actual = _per_class_counts(p, w)
    return np.asarray(
        _safe_div(2 * tp, predicted + actual)[:, _scored_classes(p)].mean(axis=1), dtype=np.float64
    )


def _balanced_accuracy(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    tp, _, actual = _per_class_counts(p, w)
    recall = np.full(actual.shape, np.nan)
    np.divide(tp, actual, out=recall, where=actual > 0)
    with np.errstate(invalid="ignore"):
        # a class missing from a resample does not count, as in scikit-learn
        return np.asarray(np.nanmean(np.where(actual > 0, recall, np.nan), axis=1))


def _binary_auc(scores: FloatArray, positive: npt.NDArray[np.bool_], w: FloatArray) -> FloatArray:
    """Weighted Mann-Whitney statistic: P(score of a positive > score of a negative)."""
    import numpy as np

    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ws = w[:, order]
    pos = positive[order]
    pos_w = np.add.reduceat(ws * pos, starts, axis=1)
    neg_w = np.add.reduceat(ws * ~pos, starts, axis=1)
    below = np.cumsum(neg_w, axis=1) - neg_w
    # ties between a positive and a negative count one half
    num = (pos_w * (below + 0.5 * neg_w)).sum(axis=1)
    den = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _roc_auc(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    assert p.proba is not None
    if len(p.classes) == 2:
        return _binary_auc(p.proba[:, 1], p.y_true == 1, w)
    per_class = [_binary_auc(p.proba[:, k], p.y_true == k, w) for k in range(len(p.classes))]
    with np.errstate(invalid="ignore"):
        return np.asarray(np.nanmean(np.vstack(per_class), axis=0))


def _log_loss(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    assert p.proba is not None
    proba = p.proba / np.clip(p.proba.sum(axis=1, keepdims=True), _EPS, None)
    picked = proba[np.arange(len(p)), p.y_true.astype(np.int64)]
    return _safe_div(w @ -np.log(np.clip(picked, _EPS, 1.0)), _n(w))


def _errors(p: Predictions) -> FloatArray:
    import numpy as np

    return np.asarray(p.y_pred, dtype=np.float64) - np.asarray(p.y_true, dtype=np.float64)


def _rmse(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    return np.sqrt(_safe_div(w @ _errors(p) ** 2, _n(w)))


def _mae(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    return _safe_div(w @ np.abs(_errors(p)), _n(w))


def _mape(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    y = np.asarray(p.y_true, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    return _safe_div(w @ (np.abs(_errors(p)) / np.maximum(np.abs(y), eps)), _n(w))


def _r2(p: Predictions, w: FloatArray) -> FloatArray:
    import numpy as np

    y = np.asarray(p.y_true, dtype=np.float64)
    n = _n(w)
    out = np.full(n.shape, np.nan)
    if y.size == 0:
        return out
    # Centring on the mean of all rows keeps sum(w*y^2) - n*mean^2 from cancelling when the
    # target sits far from zero: on all rows the second term is ~0 and the total is the
    # two-pass one scikit-learn computes.
    d = y - y.mean()
    mean = _safe_div(w @ d, n)
    spread = w @ (d**2)
    total = spread - n * mean**2
    # Where most digits cancelled anyway (a resample far from the overall mean, or one
    # constant target) redo those few resamples exactly, two-pass. A constant target leaves
    # R² undefined, where scikit-learn would divide by the rounding noise of its mean.
    suspect = np.flatnonzero(total <= 1e-8 * spread)
    if suspect.size:
        ws = w[suspect]
        drawn = ws > 0
        constant = np.where(drawn, y, np.inf).min(axis=1) == np.where(drawn, y, -np.inf).max(axis=1)
        centred = y[None, :] - _safe_div(ws @ y, n[suspect])[:, None]
        total[suspect] = np.where(constant, 0.0, (ws * centred**2).sum(axis=1))
    residual = w @ _errors(p) ** 2
    np.divide(residual, total, out=out, where=total > 0)
    return 1.0 - out


# Order matters: it is the order of metrics in train's outputs and compare's tables.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "classification", "higher", _accuracy, accuracy_type=True),
        Metric("balanced_accuracy", "classification", "higher", _balanced_accuracy),
        Metric("precision", "classification", "higher", _precision),
        Metric("recall", "classification", "higher", _recall),
        Metric("f1", "classification", "higher", _f1),
        Metric("roc_auc", "classification", "higher", _roc_auc, needs_proba=True),
        Metric("log_loss", "classification", "lower", _log_loss, needs_proba=True),
        Metric("rmse", "regression", "lower", _rmse),
        Metric("mae", "regression", "lower", _mae),
        Metric("r2", "regression", "higher", _r2),
        Metric("mape", "regression", "lower", _mape),
    )
}

#: the rule compare uses when modelci.yaml names none, per task
DEFAULT_METRIC: dict[str, str] = {"classification": "accuracy", "regression": "rmse"}


def names_for(task: str) -> list[str]:
    """modelci's own metrics of the task, in table order (empty for an unknown task)."""
    return [name for name, metric in METRICS.items() if metric.task == task]


def resolve(
    name: str, task: str, *, direction: Direction | None = None, base_dir: Path | None = None
) -> Metric:
    """The metric called ``name`` for a ``task`` model: modelci's own, a scikit-learn scorer,
    or ``module:function`` (imported, from ``base_dir`` too when the project holds it).
    ``direction`` is a function's declared direction. UnknownMetric says what is wrong."""
    if name in METRICS:
        found = METRICS[name]
        if found.task != task:
            raise UnknownMetric(
                f"metric {name!r} cannot be computed for a {task} model; use one of: "
                f"{', '.join(names_for(task))}, a scikit-learn scorer or module:function"
            )
        return found
    metric = _external(name, str(base_dir) if base_dir else None)
    if metric.direction is None and direction is not None:
        return Metric(name, None, direction, metric.fn, metric.needs_proba, on_rows=metric.on_rows)
    return metric


def metric(name: str) -> Metric:
    """The metric called ``name`` once :func:`resolve` accepted it (modelci's own at once)."""
    return METRICS[name] if name in METRICS else _external(name, None)


def check_names(task: str, names: Iterable[str], *, base_dir: Path | None = None) -> list[str]:
    """``names`` as a list, or ValueError naming the unknown task or the misfit metrics."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    wanted = list(names)
    misfits: list[str] = []
    for name in wanted:
        try:
            resolve(name, task, base_dir=base_dir)
        except UnknownMetric as exc:
            if ":" in name:  # the import's own reason says more than a list of names
                raise ValueError(str(exc)) from None
            misfits.append(name)
    if misfits:
        raise ValueError(
            f"metric(s) {', '.join(misfits)} do not apply to {task}; "
            f"choose from {', '.join(names_for(task))}, a scikit-learn scorer name "
            "(sklearn.metrics.get_scorer_names()) or module:function"
        )
    return wanted


def point(metric: Metric, predictions: Predictions) -> float:
    """The metric on all rows (multiplicity one each)."""
    import numpy as np

    return float(metric.fn(predictions, np.ones((1, len(predictions))))[0])


def check(metric: Metric, predictions: Predictions) -> None:
    """MetricError when a scorer or function fails on all rows: in the bootstrap a failure
    only marks one resample undefined, so a metric that can never work is caught here."""
    if metric.on_rows is None:
        return
    import numpy as np

    try:
        metric.on_rows(predictions, np.arange(len(predictions)))
    except Exception as exc:  # the user's function, or a scorer that does not fit the task
        raise MetricError(
            f"metric {metric.name!r} cannot be computed on these predictions "
            f"({type(exc).__name__}: {first_line(exc, 200)})"
        ) from None


# --- scikit-learn scorers and functions by import path ---------------------------------------


@functools.cache
def _external(name: str, base_dir: str | None) -> Metric:
    if ":" in name:
        return _function(name, base_dir)
    from sklearn.metrics import get_scorer_names

    if name not in get_scorer_names():
        raise UnknownMetric(
            f"metric {name!r} is neither one of modelci's ({', '.join(METRICS)}) nor a "
            "scikit-learn scorer (sklearn.metrics.get_scorer_names()); for your own, "
            "name a function as module:function"
        )
    # A scorer's sign is built in: scikit-learn negates error metrics (neg_*) so that every
    # scorer's value is better when higher.
    on_rows = _scorer(name)
    return Metric(name, None, "higher", _resampled(on_rows), on_rows=on_rows)


def _scorer(name: str) -> RowsFn:
    import numpy as np

    scorer: list[Any] = []

    def on_rows(p: Predictions, rows: IntArray) -> float:
        import sklearn
        from sklearn.metrics import get_scorer

        if not scorer:
            scorer.append(get_scorer(name))
        estimator = _answering(p, rows)
        # Labels are class codes: the second class is scikit-learn's positive label, as in
        # modelci's own binary metrics.
        try:
            with sklearn.config_context(skip_parameter_validation=True):
                return float(scorer[0](estimator, np.zeros((rows.shape[0], 1)), p.y_true[rows]))
        except AttributeError:
            if p.proba is None:  # the scorer asked for predict_proba or decision_function
                raise ValueError("it needs class probabilities; the model gives none") from None
            raise

    return on_rows


def _answering(p: Predictions, rows: IntArray) -> Any:
    """A fitted-looking estimator that answers with ``p``'s predictions for ``rows``: what
    a scorer calls, so that it scores predictions made once."""
    import numpy as np

    kind = _answer_classes()[0 if p.task == "classification" else 1]
    return kind(
        p.y_pred[rows],
        None if p.proba is None else p.proba[rows],
        np.arange(len(p.classes)) if p.classes else None,
    )


@functools.cache
def _answer_classes() -> tuple[type[Any], type[Any]]:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.metaestimators import available_if

    class Answers(BaseEstimator):  # type: ignore[misc]
        def __init__(self, pred: Any = None, proba: Any = None, classes: Any = None) -> None:
            self.pred, self.proba, self.classes = pred, proba, classes
            if classes is not None:
                self.classes_ = classes

        def fit(self, x: Any, y: Any = None) -> Answers:
            return self

        def predict(self, x: Any) -> Any:
            return self.pred

        @available_if(lambda self: self.proba is not None)  # type: ignore[untyped-decorator]
        def predict_proba(self, x: Any) -> Any:
            return self.proba

    class ClassifierAnswers(ClassifierMixin, Answers):  # type: ignore[misc]
        pass

    class RegressorAnswers(RegressorMixin, Answers):  # type: ignore[misc]
        pass

    return ClassifierAnswers, RegressorAnswers


def _function(name: str, base_dir: str | None) -> Metric:
    module_name, _, attr = name.partition(":")
    try:
        with _importable_from(base_dir):
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownMetric(
            f"metric {name!r}: cannot import module {module_name!r} ({first_line(exc)}); "
            "check the spelling, install the package, or run from the project folder"
        ) from None
    found: Any = module
    for part in attr.split("."):
        found = getattr(found, part, None)
    if not callable(found):
        raise UnknownMetric(f"metric {name!r}: module {module_name!r} has no function {attr!r}")
    try:
        wanted = set(inspect.signature(found).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: called plainly
        wanted = set()
    needs_proba = "y_proba" in wanted
    on_rows = _called(found, needs_proba, "classes" in wanted)
    return Metric(name, None, None, _resampled(on_rows), needs_proba, on_rows=on_rows)


@contextlib.contextmanager
def _importable_from(base_dir: str | None) -> Iterator[None]:
    """A module of the project (beside modelci.yaml) imports as it would with
    ``PYTHONPATH=.``, for as long as the import takes."""
    folder = base_dir or str(Path.cwd())
    if folder in sys.path:
        yield
        return
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def _called(fn: Callable[..., Any], needs_proba: bool, wants_classes: bool) -> RowsFn:
    """``fn(y_true, y_pred)`` on the rows, with labels as the model gave them; plus
    ``y_proba`` (one column per class) and ``classes`` when the function names them."""
    import numpy as np

    def on_rows(p: Predictions, rows: IntArray) -> float:
        y_true, y_pred = p.y_true[rows], p.y_pred[rows]
        kwargs: dict[str, Any] = {}
        if p.task == "classification":
            labels = np.asarray(list(p.classes))
            y_true, y_pred = labels[y_true], labels[y_pred]
            if wants_classes:
                kwargs["classes"] = list(p.classes)
        if needs_proba:
            if p.proba is None:
                raise ValueError("the model gives no class probabilities")
            kwargs["y_proba"] = p.proba[rows]
        return float(fn(y_true, y_pred, **kwargs))

    return on_rows


def _resampled(on_rows: RowsFn) -> MetricFn:
    """A Python-level metric as a vectorised one: called once per resample on the rows it
    drew; a resample where it fails (one class drawn, say) is undefined (NaN)."""

    def fn(p: Predictions, weights: FloatArray) -> FloatArray:
        import numpy as np

        index = np.arange(len(p))
        out = np.full(weights.shape[0], np.nan)
        for b in range(weights.shape[0]):
            rows = np.repeat(index, weights[b].astype(np.int64))
            with contextlib.suppress(Exception):
                out[b] = on_rows(p, rows)
        return out

    return fn


# --- encoding labels and probabilities -----------------------------------------------------


def label_order(known: Sequence[Any] | None, seen: Iterable[Any]) -> list[Any]:
    """``known`` first (a model's ``classes_``, train's classes), then every other label seen,
    sorted: scikit-learn's ``classes_`` order when the model saw every label."""
    labels = list(known or [])
    extra = set(seen) - set(labels)
    try:
        return labels + sorted(extra)
    except TypeError:  # mixed label types: any fixed order will do
        return labels + sorted(extra, key=str)


def encode(
    task: str,
    y_true: Sequence[Any] | npt.NDArray[Any],
    y_pred: Sequence[Any] | npt.NDArray[Any],
    proba: npt.NDArray[Any] | None = None,
    *,
    classes: Sequence[Any] | None = None,
    proba_classes: Sequence[Any] | None = None,
) -> Predictions:
    """Labels as codes into the class order, probabilities as one column per code.

    The class order is ``classes`` followed by any other label seen (see
    :func:`label_order`). ``proba`` has one column per label of ``proba_classes`` (default:
    ``classes``, else the class order); labels without a column get probability zero. A
    one-dimensional ``proba`` is scikit-learn's binary convention: the second class's score.
    """
    import numpy as np

    truth = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if truth.shape[0] != pred.shape[0]:
        raise ValueError(f"{truth.shape[0]} true values but {pred.shape[0]} predictions")
    if task == "regression":
        return Predictions("regression", truth.astype(np.float64), pred.astype(np.float64))
    true_list, pred_list = truth.tolist(), pred.tolist()
    seen = {*true_list, *pred_list, *(proba_classes or [])}
    labels = label_order(classes, seen)
    index = {label: i for i, label in enumerate(labels)}
    scores = None
    if proba is not None:
        given = np.asarray(proba, dtype=np.float64)
        if given.ndim == 1:
            given = np.column_stack([1.0 - given, given])
        columns = list(proba_classes if proba_classes is not None else classes or labels)
        if given.ndim != 2 or given.shape != (truth.shape[0], len(columns)):
            raise ValueError(
                f"proba has shape {given.shape}; expected ({truth.shape[0]}, {len(columns)}), "
                "one column per class"
            )
        scores = np.zeros((truth.shape[0], len(labels)))
        for column, label in enumerate(columns):
            scores[:, index[label]] = given[:, column]
    return Predictions(
        "classification",
        np.array([index[v] for v in true_list], dtype=np.int64),
        np.array([index[v] for v in pred_list], dtype=np.int64),
        scores,
        tuple(labels),
    )


def compute_metrics(
    task: str,
    y_true: Sequence[Any] | npt.NDArray[Any],
    y_pred: Sequence[Any] | npt.NDArray[Any],
    proba: npt.NDArray[Any] | None = None,
    names: Sequence[str] | None = None,
    *,
    classes: Sequence[Any] | None = None,
) -> dict[str, float]:
    """``{metric: value}`` on all rows, for ``names`` (default: modelci's metrics of ``task``;
    scikit-learn scorers and ``module:function`` names are accepted too).

    ``proba`` has one column per class in the order of ``classes`` (default: the sorted
    labels seen in ``y_true`` and ``y_pred``). Metrics that need probabilities are left out
    without them, and so is any metric undefined on these rows; a scorer or function that
    fails on them is a MetricError.
    """
    import math

    wanted = check_names(task, names if names is not None else names_for(task))
    if len(y_true) == 0:
        raise ValueError("no rows to compute metrics on")
    predictions = encode(task, y_true, y_pred, proba, classes=classes)
    out: dict[str, float] = {}
    for name in wanted:
        found = metric(name)
        if found.needs_proba and predictions.proba is None:
            continue
        check(found, predictions)
        value = point(found, predictions)
        if not math.isnan(value):
            out[name] = value
    return out
