"""Turn a saved scikit-learn model file into the MLflow model folder of the sklearn flavor.

The step saves the fitted model itself, in the process that fitted it (skops by default;
pickle or cloudpickle when configured). The MLflow side runs in the tracking worker
(:mod:`modelci.training.tracker_worker`), which never imports scikit-learn: that import is
the second the worker exists to save. This module completes the folder exactly as
``mlflow.sklearn.save_model`` would have written it: ``MLmodel`` with the ``sklearn`` and
``python_function`` flavors, the signature inferred from the input example and the model's
own predictions on it, the example files, the pinned environment files and the project's
code. ``tests/unit/test_train_mlflow_model.py`` holds the two equal for the same model.

It is handed to :meth:`mlflow.models.Model.log` as the flavor, so creating the logged model,
linking it to the run and uploading the artifacts stay MLflow's own code.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAVOR = "mlflow.sklearn"
FORMATS = {"skops": "model.skops", "pickle": "model.pkl", "cloudpickle": "model.pkl"}


@dataclass(frozen=True)
class ModelSpec:
    """What the fitting process hands over; every path is on the shared file system."""

    #: the folder holding the saved model file; completed in place, then uploaded
    folder: str
    #: skops, pickle or cloudpickle
    format: str
    sklearn_version: str
    has_predict: bool = True
    skops_trusted_types: list[str] | None = None
    #: Parquet files: the input example rows, and the model's predictions on them
    example: str | None = None
    example_output: str | None = None
    code_paths: list[str] | None = None
    #: pins beyond the flavor's own (the distribution of a non-sklearn estimator)
    extra_requirements: list[str] = field(default_factory=list)

    @property
    def model_file(self) -> str:
        return FORMATS[self.format]


class SavedModelFlavor:
    """A flavor for ``Model.log`` whose ``save_model`` completes a prepared folder."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    def save_model(self, path: str, mlflow_model: Any, **_: Any) -> None:
        complete(self.spec, mlflow_model)
        shutil.copytree(self.spec.folder, path)


def complete(spec: ModelSpec, mlflow_model: Any) -> None:
    """Write MLmodel, examples, environment files and code beside the model file."""
    import pandas as pd
    import yaml
    from mlflow import pyfunc
    from mlflow.models import infer_signature
    from mlflow.models.utils import _save_example
    from mlflow.utils.environment import _process_pip_requirements, _PythonEnv
    from mlflow.utils.file_utils import get_total_file_size
    from mlflow.utils.model_utils import _validate_and_copy_code_paths

    folder = Path(spec.folder)
    if not (folder / spec.model_file).is_file():
        raise FileNotFoundError(f"{folder / spec.model_file}: the saved model is missing")
    code = _validate_and_copy_code_paths(spec.code_paths, str(folder))  # type: ignore[no-untyped-call]
    if spec.example is not None:
        saved = _save_example(mlflow_model, pd.read_parquet(spec.example), str(folder))
        if saved is not None and spec.example_output is not None:
            # An unnamed series, as MLflow makes of a model's 1-D predictions.
            output = pd.Series(pd.read_parquet(spec.example_output).iloc[:, 0].to_numpy())
            mlflow_model.signature = infer_signature(saved.inference_data, output)
    if spec.has_predict:
        pyfunc.add_to_model(
            mlflow_model,
            loader_module=FLAVOR,
            model_path=spec.model_file,
            conda_env="conda.yaml",
            python_env="python_env.yaml",
            code=code,
            predict_fn="predict",
        )
    mlflow_model.add_flavor(
        "sklearn",
        pickled_model=spec.model_file,
        sklearn_version=spec.sklearn_version,
        serialization_format=spec.format,
        code=code,
        skops_trusted_types=spec.skops_trusted_types,
    )
    if size := get_total_file_size(folder):
        mlflow_model.model_size_bytes = size
    mlflow_model.save(str(folder / "MLmodel"))

    requirements = requirements_for(spec)
    with requirements_known(requirements):
        conda_env, pip_requirements, constraints = _process_pip_requirements(  # type: ignore[no-untyped-call]
            requirements, None, None
        )
    with open(folder / "conda.yaml", "w", encoding="utf-8") as out:
        yaml.safe_dump(conda_env, stream=out, default_flow_style=False)
    if constraints:
        (folder / "constraints.txt").write_text("\n".join(constraints), encoding="utf-8")
    (folder / "requirements.txt").write_text("\n".join(pip_requirements), encoding="utf-8")
    _PythonEnv.current().to_yaml(  # type: ignore[no-untyped-call]
        str(folder / "python_env.yaml")
    )


def requirements_for(spec: ModelSpec) -> list[str]:
    """The flavor's pins (scikit-learn and the serializer) plus the estimator's distribution.

    Pinned from the installed versions rather than inferred: MLflow's inference loads the
    model in a subprocess, seconds per run, to find what these pins already say.
    """
    import mlflow.sklearn

    defaults = mlflow.sklearn.get_default_pip_requirements(
        include_cloudpickle=spec.format == "cloudpickle", include_skops=spec.format == "skops"
    )
    return sorted({*defaults, *spec.extra_requirements})


@contextlib.contextmanager
def requirements_known(requirements: list[str]) -> Iterator[None]:
    """Skip MLflow's scan of every installed distribution (most of a second) while it checks
    requirements that were just read from the installed versions, so cannot mismatch.

    MLflow builds a module → distribution map of the whole environment to check the
    requirements it is given against what is installed; ours come from that very
    environment. The map is set to just our distributions for the call and reset after,
    so later MLflow calls in the process build the full map as usual.
    """
    try:
        from mlflow.utils import requirements_utils
    except ImportError:  # pragma: no cover - a future MLflow moved it: just be slower
        yield
        return
    state = vars(requirements_utils)  # MLflow's module-level cache, typed None in its source
    if state.get("_MODULES_TO_PACKAGES", False) is not None:
        yield
        return
    names = [r.split("==")[0] for r in requirements]
    state["_MODULES_TO_PACKAGES"] = {n.replace("-", "_"): [n] for n in names}
    try:
        yield
    finally:
        state["_MODULES_TO_PACKAGES"] = None
