"""Save the fitted model where it was fitted, and what MLflow needs to describe it.

The tracking worker completes the MLflow model folder around these files
(:mod:`modelci.training.mlflow_model`) without importing scikit-learn. The file is read
back and made to predict the example before anything is logged, which is the check MLflow
would otherwise do by loading the model in the worker.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from modelci.errors import InputError, first_line
from modelci.process import collector_paused
from modelci.training.mlflow_model import FORMATS, ModelSpec

EXAMPLE_FILE = "example.parquet"
EXAMPLE_OUTPUT_FILE = "example-output.parquet"
SKOPS_HINT = (
    "use estimators skops supports, or set train.serialization: cloudpickle "
    "(loading it runs code: trust the source)"
)


def save(
    model: Any,
    example: Any,
    *,
    folder: Path,
    scratch: Path,
    fmt: str,
    where: str,
    code_paths: list[str] | None = None,
    extra_requirements: list[str] | None = None,
) -> ModelSpec:
    """Write ``model`` into ``folder`` (created) in ``fmt``, and the example files into
    ``scratch``; return the spec the worker completes the folder from."""
    import sklearn

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FORMATS[fmt]
    trusted = _write(model, path, fmt, where)
    try:
        loaded = _read(path, fmt, trusted)
    except Exception as exc:  # e.g. a lambda: skops writes its name, cannot find it again
        raise InputError(
            f"{where}: the model saved with {fmt} cannot be loaded back "
            f"({type(exc).__name__}: {first_line(exc, 200)}); "
            + (
                SKOPS_HINT
                if fmt == "skops"
                else "define the estimator and its functions at the top level of a module"
            )
        ) from None
    has_predict = hasattr(model, "predict")
    example_file = output_file = None
    if example is not None:
        example_file = scratch / EXAMPLE_FILE
        example.to_parquet(example_file, index=False)
        if has_predict:
            output = np.asarray(model.predict(example))
            again = np.asarray(loaded.predict(example))
            if not _same(output, again):
                raise InputError(
                    f"{where}: the model saved with {fmt} predicts differently once loaded "
                    "back; choose another train.serialization"
                )
            if output.ndim == 1:
                import pandas as pd

                output_file = scratch / EXAMPLE_OUTPUT_FILE
                pd.DataFrame({"prediction": output}).to_parquet(output_file, index=False)
    return ModelSpec(
        folder=str(folder),
        format=fmt,
        sklearn_version=sklearn.__version__,
        has_predict=has_predict,
        skops_trusted_types=trusted,
        example=str(example_file) if example_file else None,
        example_output=str(output_file) if output_file else None,
        code_paths=code_paths,
        extra_requirements=list(extra_requirements or []),
    )


def _write(model: Any, path: Path, fmt: str, where: str) -> list[str] | None:
    """Serialize; for skops, return the types to trust when loading (exactly this model's)."""
    if fmt == "skops":
        with collector_paused():  # skops imports every scikit-learn estimator
            import skops.io

        try:
            data = skops.io.dumps(model)
        except Exception as exc:  # skops refuses what it cannot represent without code
            raise InputError(
                f"{where}: the model cannot be saved with skops ({type(exc).__name__}: "
                f"{first_line(exc, 200)}); {SKOPS_HINT}"
            ) from None
        path.write_bytes(data)
        # The types of the model the user configured are what this run wrote; trusting
        # exactly those lets the registered model load without trusting anything else.
        return sorted(skops.io.get_untrusted_types(data=data)) or None
    lib: Any = pickle
    if fmt == "cloudpickle":
        import cloudpickle  # type: ignore[import-untyped]

        lib = cloudpickle
    try:
        with open(path, "wb") as out:
            # Python's default protocol, as MLflow uses, for the widest compatibility.
            lib.dump(model, out, protocol=pickle.DEFAULT_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InputError(
            f"{where}: the model cannot be saved with {fmt} ({first_line(exc, 200)}); "
            "define the estimator class at the top level of an importable module"
        ) from None
    return None


def _read(path: Path, fmt: str, trusted: list[str] | None) -> Any:
    if fmt == "skops":
        import skops.io

        return skops.io.load(path, trusted=trusted)
    with open(path, "rb") as f:
        return pickle.load(f)  # noqa: S301 - the file this process wrote a moment ago


def _same(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))
