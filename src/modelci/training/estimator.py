"""The estimator named by import path, built with the user's parameters.

``sklearn.linear_model.LogisticRegression`` and ``mypkg.models:MyModel`` both work: the
colon form says exactly where the module ends, the dotted form takes the last part as the
class. Parameters are checked against ``get_params()`` before fitting, so a typo fails in
milliseconds with the list of valid names instead of after a long fit.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from modelci.errors import ConfigError, first_line


def resolve(path: str, *, where: str = "train.estimator") -> type[Any]:
    """The class at ``path``; ConfigError naming ``where`` when it cannot be imported."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(
            f"{path!r} is not an import path; write it as package.module.Class "
            "(e.g. sklearn.linear_model.LogisticRegression)",
            source=where,
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import module {module_name!r} for estimator {path!r} ({exc}); "
            "check the spelling or install the package",
            source=where,
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(
                f"module {module_name!r} has no {attr!r}; check the estimator's name",
                source=where,
            )
        obj = getattr(obj, part)
    if not inspect.isclass(obj):
        raise ConfigError(f"{path!r} is not a class", source=where)
    if not callable(getattr(obj, "fit", None)) or not callable(getattr(obj, "predict", None)):
        raise ConfigError(
            f"{path!r} is not an estimator: it needs fit() and predict() methods", source=where
        )
    return obj


def build(
    path: str,
    params: Mapping[str, Any],
    *,
    seed: int | None = None,
    where: str = "train.estimator",
    params_where: str = "train.params",
) -> Any:
    """An instance of the estimator at ``path`` with ``params`` (and ``random_state=seed``
    when the estimator has one and the user did not set it)."""
    cls = resolve(path, where=where)
    try:
        probe = cls()
    except TypeError as exc:
        raise ConfigError(
            f"{path} cannot be built without arguments ({exc}); "
            "modelci needs a scikit-learn style estimator",
            source=where,
        ) from None
    valid = _param_names(probe)
    if valid is not None:
        unknown = sorted(set(params) - valid)
        if unknown:
            raise ConfigError(
                f"{path} has no parameter {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(valid))}",
                source=params_where,
            )
    kwargs = dict(params)
    if seed is not None and valid is not None and "random_state" in valid:
        kwargs.setdefault("random_state", seed)
    try:
        estimator = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}({_show(kwargs)}) failed: {exc}", source=params_where) from None
    _validate_params(estimator, path, params_where)
    return estimator


def _param_names(estimator: Any) -> set[str] | None:
    get_params = getattr(estimator, "get_params", None)
    if not callable(get_params):
        return None
    try:
        return set(get_params(deep=False))
    except Exception:  # a user class with a broken get_params: check at fit time instead
        return None


def _validate_params(estimator: Any, path: str, where: str) -> None:
    """scikit-learn checks values (types, ranges, choices) only in fit(); check them now."""
    validate = getattr(estimator, "_validate_params", None)
    # Subclasses of BaseEstimator inherit the method but declare no constraints of their own.
    if not callable(validate) or not hasattr(estimator, "_parameter_constraints"):
        return
    try:
        validate()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {first_line(exc)}", source=where) from None


def _show(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
