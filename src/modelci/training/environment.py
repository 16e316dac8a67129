"""What a logged model needs to load elsewhere: pinned requirements and the project's code.

Requirements are pinned from the installed versions and handed to MLflow, because without
them MLflow infers them by loading the model in a subprocess (seconds per run) to find what
the pins already say. A project's own estimator (a module no installed distribution
provides) travels inside the model folder as ``code_paths``, so the registered model loads
where the project is not installed.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def requirements(serialization: str, estimator: Any) -> tuple[str, ...]:
    """The sklearn flavor's pins (scikit-learn and the serializer) plus the distribution of a
    non-sklearn estimator."""
    import mlflow.sklearn

    defaults = mlflow.sklearn.get_default_pip_requirements(
        include_cloudpickle=serialization == "cloudpickle",
        include_skops=serialization == "skops",
    )
    return tuple(sorted({*defaults, *_estimator_requirements(estimator)}))


def code_paths(estimator: Any) -> tuple[str, ...]:
    """The project's own estimator code: its module, or its package's folder."""
    top = type(estimator).__module__.split(".")[0]
    if top in ("sklearn", "__main__") or _distributions().get(top):
        return ()
    module = sys.modules.get(top)
    file = getattr(module, "__file__", None)
    if not file:
        return ()
    path = Path(file)
    return (str(path.parent if path.name == "__init__.py" else path),)


def _estimator_requirements(estimator: Any) -> list[str]:
    import importlib.metadata

    top = type(estimator).__module__.split(".")[0]
    if top == "sklearn":
        return []
    pins = []
    for dist in _distributions().get(top, []):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            pins.append(f"{dist}=={importlib.metadata.version(dist)}")
    return pins


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    import importlib.metadata

    return importlib.metadata.packages_distributions()
