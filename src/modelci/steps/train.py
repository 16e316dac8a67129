"""train: fit the model, track it in MLflow and register a new model version.

Two modes. Declarative: ``train.estimator`` (an import path) with ``train.params``, and
preprocessing derived from the data contract. Command: ``train.command`` is the team's own
training script, run inside the MLflow run this step starts, with autologging on.

Order matters for "no half-registered model version": everything that can fail (fit,
logging, the local model copy, its digest, the evaluation files) happens first, the model
version is registered last, and if anything fails after registration the version is deleted
again. The MLflow run is marked FAILED on any error.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci import __version__, fsutil, reports
from modelci.config import Config
from modelci.errors import InputError
from modelci.results import Check, StepResult, format_value
from modelci.runfolder import RunFolder
from modelci.training import tracking
from modelci.training.tracking import RetryPolicy, Target

if TYPE_CHECKING:
    import pyarrow as pa

    from modelci.data.reader import Dataset
    from modelci.training.data import Prepared

STEP = "train"
MODEL_DIR = "model"
EVAL_FILE = "eval.parquet"
PREDICTIONS_FILE = "predictions.parquet"
#: MLflow refuses longer parameter values
MAX_PARAM_CHARS = 6000


@dataclass
class Trained:
    """What a mode hands back: the logged model and what is known about it."""

    task: str | None
    target: str | None
    model_uri: str  # the logged model, models:/<model_id> (or runs:/<run_id>/<path>)
    metrics: dict[str, float]
    params: dict[str, Any]
    classes: list[Any] = field(default_factory=list)
    dataset: Dataset | None = None
    eval_table: pa.Table | None = None
    predictions: pa.Table | None = None
    checks: list[Check] = field(default_factory=list)


def run(config: Config, runfolder: RunFolder) -> StepResult:
    started = time.perf_counter()
    env = os.environ
    command = config.get("train.command")
    estimator_path = config.get("train.estimator")
    if not command and not estimator_path:
        raise InputError(
            "nothing to train: set train.estimator (an import path such as "
            "sklearn.linear_model.LogisticRegression) or train.command (your training "
            "script) in modelci.yaml, or pass --estimator / --command"
        )
    policy = RetryPolicy.from_settings(config.get("train.tracking"))
    target = tracking.resolve_target(
        config.get("registry.tracking_uri"),
        config.where("registry.tracking_uri"),
        runfolder.path,
        env,
    )
    model_name = config.get("registry.model_name") or default_model_name(config.base_dir)
    experiment = config.get("train.experiment") or model_name

    # Bad settings, bad data and a damaged manifest fail before MLflow is even imported.
    runfolder.read()
    estimator: Any = None
    prepared: Prepared | None = None
    if not command:
        from modelci.training import data
        from modelci.training import estimator as estimator_mod

        estimator = estimator_mod.build(
            str(estimator_path),
            config.get("train.params") or {},
            seed=int(config.get("train.seed", 42)),
            where=config.where("train.estimator"),
            params_where=config.where("train.params"),
        )
        prepared = data.prepare(config, estimator)

    step_dir = runfolder.step_dir(STEP)
    with tracking.bounded_http(policy), tracking.infra_errors(target):
        tracking.prepare(target, policy, env)
        with tracking.using(target.uri):
            result = _tracked(
                config, runfolder, step_dir, target, model_name, experiment,
                estimator, prepared, command, started,
            )  # fmt: skip
    return result


def _tracked(
    config: Config,
    runfolder: RunFolder,
    step_dir: Path,
    target: Target,
    model_name: str,
    experiment: str,
    estimator: Any,
    prepared: Prepared | None,
    command: str | None,
    started: float,
) -> StepResult:
    from mlflow import MlflowClient

    client = MlflowClient(target.uri, registry_uri=target.uri)
    exp_id = tracking.experiment_id(client, experiment, target.artifact_location)
    tags = {
        **tracking.source_tags(os.environ, config.base_dir),
        "modelci.step": STEP,
        "modelci.version": __version__,
        "modelci.mode": "command" if command else "estimator",
    }
    run = client.create_run(exp_id, tags=tags, run_name=f"{model_name}-train")
    run_id = str(run.info.run_id)
    version: str | None = None
    try:
        if command:
            trained = _command_mode(config, runfolder, client, target, run_id, exp_id, command)
        else:
            assert prepared is not None
            trained = _estimator_mode(config, client, run_id, estimator, prepared)
        model_dir = _local_copy(trained.model_uri, step_dir)
        if command:
            _evaluate_command_model(config, client, run_id, trained, model_dir)
        from modelci.training.digest import model_digest

        digest = model_digest(model_dir)
        files = _write_eval_files(step_dir, trained)
        client.set_tag(run_id, "modelci.model.digest", digest)
        client.set_terminated(run_id, "FINISHED")
        version = tracking.register(
            client,
            trained.model_uri,
            model_name,
            run_id,
            tags={
                "modelci.run_id": run_id,
                "modelci.model.digest": digest,
                **({"modelci.dataset.digest": trained.dataset.digest} if trained.dataset else {}),
                **{k: v for k, v in tags.items() if k.startswith("modelci.git.")},
                **(
                    {"modelci.ci.run_url": tags["modelci.ci.run_url"]}
                    if "modelci.ci.run_url" in tags
                    else {}
                ),
            },
            description=f"Trained by modelci {__version__} in MLflow run {run_id}.",
        )
        result = _result(
            trained, target, model_name, version, run_id, digest, started,
            runfolder, model_dir, files,
        )  # fmt: skip
        reports.write_step_reports(result, step_dir)
        # A re-run replaces the train facts whole: a merge would keep stale keys (classes of
        # an earlier classifier, eval files of an earlier declarative run).
        runfolder.update(lambda manifest: manifest.pop("train", None))
        runfolder.record_step(
            STEP,
            passed=result.passed,
            facts=_facts(
                runfolder, result, trained, target, model_name, version, run_id, exp_id,
                digest, model_dir, files,
            ),
        )  # fmt: skip
        return result
    except BaseException:
        if version is not None:
            tracking.delete_version(client, model_name, version)
        with contextlib.suppress(Exception):
            client.set_terminated(run_id, "FAILED")
        raise


# --- the two modes -------------------------------------------------------------------------


def _estimator_mode(
    config: Config, client: Any, run_id: str, estimator: Any, prepared: Prepared
) -> Trained:
    import mlflow

    from modelci.training import fit

    seed = int(config.get("train.seed", 42))
    estimator_path = str(config.get("train.estimator"))
    fitted = fit.train(
        estimator,
        prepared,
        preprocess=config.get("train.preprocess") or {},
        metric_names=config.get("train.metrics"),
        cv_folds=int(config.get("train.cv.folds", 0)),
        seed=seed,
        estimator_path=estimator_path,
    )
    params = {"estimator": estimator_path, **_json_params(estimator.get_params(deep=False))}
    settings = {
        "modelci.task": prepared.task,
        "modelci.target": prepared.target,
        "modelci.seed": seed,
        "modelci.features": ",".join(prepared.features),
        "modelci.split.test_size": (
            "explicit" if prepared.test_dataset is not None else config.get("train.split.test_size")
        ),
        "modelci.cv.folds": config.get("train.cv.folds", 0),
        "modelci.preprocess": config.get("train.preprocess"),
    }
    with mlflow.start_run(run_id=run_id), _quiet_mlflow():
        mlflow.log_params({k: _param_value(v) for k, v in {**params, **settings}.items()})
        mlflow.log_metrics({**fitted.metrics, **fitted.cv_metrics})
        _log_dataset(prepared.dataset, prepared.frame, prepared.target, "training")
        if prepared.test_dataset is not None and prepared.test_frame is not None:
            _log_dataset(prepared.test_dataset, prepared.test_frame, prepared.target, "evaluation")
        model_uri = _log_sklearn_model(config, fitted.model, fitted.input_example, estimator)
    from modelci.training.fit import predictions_table

    y_true = prepared.test_y if prepared.test_y is not None else prepared.y[prepared.test_rows]
    checks = [
        Check(rule="fit warning", passed=False, message=text, severity="warning")
        for text in fitted.fit_warnings
    ]
    return Trained(
        task=prepared.task,
        target=prepared.target,
        model_uri=model_uri,
        metrics={**fitted.metrics, **fitted.cv_metrics},
        params=params,
        classes=fitted.classes,
        dataset=prepared.dataset,
        eval_table=prepared.eval_table,
        predictions=predictions_table(
            prepared.test_rows, y_true, fitted.y_pred, fitted.proba, fitted.classes
        ),
        checks=checks,
    )


def _command_mode(
    config: Config,
    runfolder: RunFolder,
    client: Any,
    target: Target,
    run_id: str,
    experiment_id: str,
    command: str,
) -> Trained:
    from modelci.training.script import child_env, run_command

    extra = {}
    if data_path := config.path("data.path"):
        extra["MODELCI_DATA_PATH"] = str(data_path.resolve())
    if target_column := config.get("data.target"):
        extra["MODELCI_TARGET"] = str(target_column)
    env = child_env(
        os.environ,
        tracking_uri=target.uri,
        run_id=run_id,
        experiment_id=experiment_id,
        run_folder=runfolder.path,
        autolog=bool(config.get("train.autolog", True)),
        extra=extra,
    )
    run_command(command, env, config.base_dir, where=config.where("train.command"))
    model_uri = _logged_model(client, experiment_id, run_id, config.where("train.command"))
    finished = client.get_run(run_id)
    metrics = {k: float(v) for k, v in finished.data.metrics.items()}
    params: dict[str, Any] = {"command": command, **dict(finished.data.params)}
    return Trained(
        task=None, target=target_column, model_uri=model_uri, metrics=metrics, params=params,
    )  # fmt: skip


def _evaluate_command_model(
    config: Config, client: Any, run_id: str, trained: Trained, model_dir: Path
) -> None:
    """Score the script's model on the holdout and log the data it was trained on."""
    from modelci.training.evaluate import evaluate_logged

    evaluation = evaluate_logged(config, model_dir)
    dataset, frame = None, None
    if evaluation is not None:
        prepared = evaluation.prepared
        trained.task = prepared.task
        trained.classes = evaluation.classes
        # modelci's holdout metrics under their plain names (what compare gates on),
        # beside whatever the script logged under its own names.
        trained.metrics = {
            **evaluation.metrics,
            **{k: v for k, v in trained.metrics.items() if k not in evaluation.metrics},
        }
        trained.eval_table = prepared.eval_table
        trained.predictions = evaluation.predictions
        dataset, frame = prepared.dataset, prepared.frame
        client.log_batch(
            run_id,
            metrics=[_metric(f"holdout_{k}", v) for k, v in evaluation.metrics.items()],
        )
    elif config.path("data.path") is not None:
        from modelci.training.data import read

        dataset = read(config, "data.path")
        frame = dataset.table.to_pandas()
    if dataset is not None:
        trained.dataset = dataset
        with _resumed(run_id), _quiet_mlflow():
            _log_dataset(dataset, frame, trained.target, "training")


def _metric(key: str, value: float) -> Any:
    from mlflow.entities import Metric

    return Metric(key, float(value), int(time.time() * 1000), 0)


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """MLflow's hints about dataset sources and integer columns in signatures are about its
    own inference, not something a pipeline user can act on; keep them out of CI logs."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")
        warnings.filterwarnings("ignore", category=UserWarning, message=r".*dataset source")
        warnings.filterwarnings("ignore", category=UserWarning, message=r"Hint: Inferred schema")
        yield


@contextlib.contextmanager
def _resumed(run_id: str) -> Iterator[None]:
    import mlflow

    # Resume without changing the run's end status the command left.
    active = mlflow.start_run(run_id=run_id)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            mlflow.end_run(status=active.info.status)


def _logged_model(client: Any, experiment_id: str, run_id: str, where: str) -> str:
    """The model the command logged into the run: the most recent logged model of the run."""
    models = client.search_logged_models(
        experiment_ids=[experiment_id], filter_string=f"source_run_id = '{run_id}'"
    )
    ready = [m for m in models if str(getattr(m, "status", "READY")).endswith("READY")]
    if not ready:
        raise InputError(
            f"{where}: the command logged no model to MLflow run {run_id}; log one with "
            "mlflow.<flavor>.log_model(...) or keep train.autolog on for a supported library"
        )
    latest = max(ready, key=lambda m: (m.creation_timestamp or 0, m.model_id))
    return f"models:/{latest.model_id}"


# --- logging helpers ---------------------------------------------------------------------


def _log_sklearn_model(config: Config, model: Any, example: Any, estimator: Any) -> str:
    import mlflow.sklearn

    fmt = str(config.get("train.serialization", "skops"))
    trusted = None
    if fmt == "skops":
        import skops.io

        # The types of the model the user configured are what this run wrote; trusting
        # exactly those lets the registered model load without trusting anything else.
        trusted = sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model))) or None
    requirements = _requirements(fmt, estimator)
    with _requirements_known(requirements):
        info = mlflow.sklearn.log_model(
            model,
            name=MODEL_DIR,
            input_example=example,
            serialization_format=fmt,
            skops_trusted_types=trusted,
            pip_requirements=requirements,
            code_paths=_code_paths(estimator),
        )
    return str(info.model_uri)


@contextlib.contextmanager
def _requirements_known(requirements: list[str]) -> Iterator[None]:
    """Skip MLflow's scan of every installed distribution (about a second) while it checks
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
    if getattr(requirements_utils, "_MODULES_TO_PACKAGES", False) is not None:
        yield
        return
    names = [r.split("==")[0] for r in requirements]
    state = vars(requirements_utils)  # MLflow's module-level cache, typed None in its source
    state["_MODULES_TO_PACKAGES"] = {n.replace("-", "_"): [n] for n in names}
    try:
        yield
    finally:
        state["_MODULES_TO_PACKAGES"] = None


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    import importlib.metadata

    return importlib.metadata.packages_distributions()


def _code_paths(estimator: Any) -> list[str] | None:
    """The project's own estimator code (a module or package that no installed distribution
    provides) travels inside the model folder, so the registered model loads elsewhere."""
    import sys

    top = type(estimator).__module__.split(".")[0]
    if top in ("sklearn", "__main__") or _distributions().get(top):
        return None
    module = sys.modules.get(top)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file)
    return [str(path.parent if path.name == "__init__.py" else path)]


def _requirements(fmt: str, estimator: Any) -> list[str]:
    """Pinned requirements without MLflow's inference (it loads the model in a subprocess,
    seconds per run): the flavor's pins plus the distribution of a non-sklearn estimator."""
    import importlib.metadata

    import mlflow.sklearn

    reqs: list[str] = list(
        mlflow.sklearn.get_default_pip_requirements(
            include_cloudpickle=fmt == "cloudpickle", include_skops=fmt == "skops"
        )
    )
    top = type(estimator).__module__.split(".")[0]
    if top != "sklearn":
        for dist in _distributions().get(top, []):
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                reqs.append(f"{dist}=={importlib.metadata.version(dist)}")
    return sorted(set(reqs))


def _log_dataset(dataset: Dataset, frame: Any, target: str | None, context: str) -> None:
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    hexdigest = dataset.digest.removeprefix("sha256:")
    logged = from_pandas(
        frame,
        source=dataset.source,
        targets=target,
        name=Path(dataset.source).name or "data",
        # MLflow stores at most 36 characters of digest; the full one is in the input tag.
        digest=hexdigest[:32],
    )
    mlflow.log_input(logged, context=context, tags={"modelci.digest": dataset.digest})
    if context == "training":
        mlflow.set_tag("modelci.dataset.digest", dataset.digest)
        mlflow.set_tag("modelci.dataset.source", dataset.source)


def _json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or isinstance(value, bool | int | float | str):
            out[key] = value
        else:
            out[key] = repr(value)
    return out


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else format_value(value) if value is not None else ""
    if isinstance(value, dict):
        import json

        text = json.dumps(value, sort_keys=True)
    return text[:MAX_PARAM_CHARS]


# --- files in the run folder ---------------------------------------------------------------


def _local_copy(model_uri: str, step_dir: Path) -> Path:
    """Download the logged model into ``train/model``, replacing an older copy whole."""
    import mlflow.artifacts

    final = step_dir / MODEL_DIR
    with tempfile.TemporaryDirectory(dir=step_dir, prefix=".model-") as tmp:
        fetched = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        if final.exists():
            shutil.rmtree(final)
        os.replace(fetched, final)
    return final


def _write_eval_files(step_dir: Path, trained: Trained) -> dict[str, Path]:
    files: dict[str, Path] = {}
    if trained.eval_table is not None:
        files["eval_data"] = _write_parquet(step_dir / EVAL_FILE, trained.eval_table)
    if trained.predictions is not None:
        files["predictions"] = _write_parquet(step_dir / PREDICTIONS_FILE, trained.predictions)
    return files


def _write_parquet(path: Path, table: pa.Table) -> Path:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return fsutil.write_bytes(path, buffer.getvalue())


# --- result and manifest -------------------------------------------------------------------


def default_model_name(base_dir: Path) -> str:
    """The project folder's name, made a valid registered-model name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", base_dir.resolve().name).strip("-.")
    return name or "model"


def _result(
    trained: Trained,
    target: Target,
    model_name: str,
    version: str,
    run_id: str,
    digest: str,
    started: float,
    runfolder: RunFolder,
    model_dir: Path,
    files: dict[str, Path],
) -> StepResult:
    import json

    checks = [
        Check(rule="model registered", passed=True, observed=f"{model_name}/{version}"),
        *_dataset_checks(runfolder, trained.dataset),
        *trained.checks,
    ]
    registered = f"models:/{model_name}/{version}"
    elapsed = time.perf_counter() - started
    summary = (
        f"train passed: registered {registered} from run {run_id}"
        + (f" ({trained.task}, " if trained.task else " (")
        + ", ".join(f"{k} {format_value(v)}" for k, v in list(trained.metrics.items())[:4])
        + f") in {elapsed:.1f}s"
    )
    lines = [
        f"**✅ trained** — `{registered}` · MLflow run `{run_id}` at `{target.display}`",
        "",
        f"- model digest: `{digest}`",
        *(
            [f"- data: `{trained.dataset.source}` (`{trained.dataset.digest}`)"]
            if trained.dataset
            else []
        ),
        *([f"- task: {trained.task}, target `{trained.target}`"] if trained.task else []),
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {format_value(value)} |" for name, value in trained.metrics.items()),
        "",
        reports.markdown_table(checks),
    ]
    outputs = {
        "run-id": run_id,
        "model-uri": registered,
        "model-version": version,
        "model-digest": digest,
        "metrics": json.dumps(trained.metrics, sort_keys=True),
    }
    return StepResult(
        step=STEP,
        passed=True,
        summary=summary,
        checks=checks,
        outputs=outputs,
        metrics=dict(trained.metrics),
        markdown="\n".join(lines),
        details={"model_path": runfolder.relative(model_dir), "seconds": round(elapsed, 3)},
    )


def _dataset_checks(runfolder: RunFolder, dataset: Dataset | None) -> list[Check]:
    if dataset is None:
        return []
    validated = (runfolder.read().get("datasets") or {}).get("data") or {}
    seen = validated.get("digest")
    if not seen:
        return []
    same = seen == dataset.digest
    return [
        Check(
            rule="same data as validate-data",
            passed=same,
            observed=dataset.digest,
            expected=seen,
            severity="warning",
            message="" if same else "the data changed since validate-data checked it",
        )
    ]


def _facts(
    runfolder: RunFolder,
    result: StepResult,
    trained: Trained,
    target: Target,
    model_name: str,
    version: str,
    run_id: str,
    experiment_id: str,
    digest: str,
    model_dir: Path,
    files: dict[str, Path],
) -> dict[str, Any]:
    train: dict[str, Any] = {
        "task": trained.task,
        "target": trained.target,
        "run_id": run_id,
        "experiment_id": experiment_id,
        "tracking_uri": target.display,
        "model_uri": f"models:/{model_name}/{version}",
        "run_model_uri": trained.model_uri,
        "registered_model": model_name,
        "model_version": version,
        "model_path": runfolder.relative(model_dir),
        "model_digest": digest,
        "metrics": dict(trained.metrics),
        "params": dict(trained.params),
    }
    if trained.task == "classification":
        train["classes"] = list(trained.classes)
    if trained.dataset is not None:
        train["data_digest"] = trained.dataset.digest
    for key, path in files.items():
        train[key] = runfolder.relative(path)
    return {"report": runfolder.relative(result.files["report"]), "train": train}
