"""train: fit the model, track it in MLflow and register a new model version.

Two modes. Declarative: ``train.estimator`` (an import path) with ``train.params``, and
preprocessing derived from the data contract. Command: ``train.command`` is the team's own
training script, run inside the MLflow run this step starts, with autologging on.

MLflow runs in this process, through its public API (:mod:`modelci.training.tracking`).
Nothing is written to the tracking store before the settings and the data passed their
checks; the run is created before the fit, so a fit that fails or is stopped leaves a run
that says so.

Order matters for "no half-registered model version": everything that can fail (fit,
logging, the local model copy, its digest, the evaluation files) happens first, the model
version is registered last, and if anything fails after registration the version is deleted
again. The MLflow run is marked FAILED on any error, KILLED when the step is stopped
(``train.timeout``, Ctrl-C, SIGTERM). The model folder and the evaluation files are made in
a scratch folder and replace an earlier run's only once the version is registered, so a
failed re-run leaves the run folder as its manifest describes it.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci import __version__, fsutil, reports, secrets, staging
from modelci.config import Config
from modelci.digests import file_sha256
from modelci.errors import InputError
from modelci.inputs import Input, Output
from modelci.manifest import Manifest, TrainFacts
from modelci.registry import orphans
from modelci.registry import tags as registry_tags
from modelci.registry.connection import RetryPolicy, bounded_http, infra_errors
from modelci.registry.location import Location, locate
from modelci.registry.orphans import Known
from modelci.results import Check, StepResult, format_value
from modelci.runfolder import RunFolder
from modelci.step import Context, StepSpec
from modelci.training import deadline
from modelci.training.tracking import (
    FAILED,
    KILLED,
    DatasetSpec,
    ModelSpec,
    RunRef,
    Tracking,
    mark_ready,
    opened,
    undo,
)
from modelci.training.tracking import (
    MODEL_NAME as MODEL_DIR,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from modelci.data.reader import Dataset
    from modelci.training.data import Prepared
    from modelci.training.fit import Fitted

STEP = "train"
EVAL_FILE = "eval.parquet"
PREDICTIONS_FILE = "predictions.parquet"
#: MLflow refuses longer parameter values
MAX_PARAM_CHARS = 6000
#: rows of a dataset handed to MLflow to describe its schema (its size is sent apart)
SAMPLE_ROWS = 1000
#: MLflow's own source tags, set beside ours so its UI links the commit
MLFLOW_COMMIT = "mlflow.source.git.commit"
MLFLOW_BRANCH = "mlflow.source.git.branch"


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


def run(ctx: Context) -> StepResult:
    started = time.perf_counter()
    config, runfolder, env = ctx.config, ctx.runfolder, ctx.env
    command = config.get("train.command")
    estimator_path = config.get("train.estimator")
    if not command and not estimator_path:
        raise InputError(
            "nothing to train: set train.estimator (an import path such as "
            "sklearn.linear_model.LogisticRegression) or train.command (your training "
            "script) in modelci.yaml, or pass --estimator / --command"
        )
    policy = RetryPolicy.from_settings(config.get("train.tracking"))
    target = locate(config, runfolder.path, env)
    model_name = config.get("registry.model_name") or default_model_name(config.base_dir)
    experiment = config.get("train.experiment") or model_name
    manifest = runfolder.manifest()  # a damaged manifest fails before anything else
    ci = ctx.ci
    tags = {
        **ci.tags,
        **({MLFLOW_COMMIT: ci.commit} if ci.commit else {}),
        **({MLFLOW_BRANCH: ci.branch} if ci.branch else {}),
        registry_tags.STEP: STEP,
        registry_tags.VERSION: __version__,
        registry_tags.MODE: "command" if command else "estimator",
    }
    timeout = config.get("train.timeout")

    with (
        deadline.limit(float(timeout) if timeout else None, config.where("train.timeout")),
        bounded_http(policy),
        contextlib.ExitStack() as scratch_stack,
    ):
        # Bad settings and bad data fail before anything is written to the tracking store
        # (and before MLflow is even imported).
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
        staging.remove_leftovers(ctx.step_dir(STEP), ".train-*")
        # Staging (the holdout rows, the fetched model) stays out of the run folder, which
        # travels as an artifact: the shared tail moves the finished model and files in
        # with the manifest entry, then removes the staging folder (``Record.cleanup``).
        scratch = scratch_stack.enter_context(staging.folder("train"))
        with infra_errors(target), opened(target, policy, env) as tracking:
            job = _Job(ctx, scratch, target, policy, tracking, model_name)
            result = job.run(experiment, tags, estimator, prepared, command, started, manifest)
        result.record.cleanup.append(scratch_stack.pop_all().close)
        return result


@dataclass
class _Job:
    ctx: Context
    #: files made before the tail places them in the run folder (model, evaluation files)
    scratch: Path
    target: Location
    policy: RetryPolicy
    tracking: Tracking
    model_name: str

    @property
    def config(self) -> Config:
        return self.ctx.config

    def run(
        self,
        experiment: str,
        tags: dict[str, str],
        estimator: Any,
        prepared: Prepared | None,
        command: str | None,
        started: float,
        manifest: Manifest,
    ) -> StepResult:
        tracking = self.tracking
        opened = tracking.start(experiment, run_name=f"{self.model_name}-train", tags=tags)
        run_id = opened.run_id
        version: str | None = None
        try:
            if command:
                trained, model_dir = self._command_mode(opened, command)
            else:
                assert prepared is not None
                trained, model_dir = self._estimator_mode(opened, estimator, prepared)
            files = _write_eval_files(self.scratch, trained)
            from modelci.digests import model_digest

            digest = model_digest(model_dir)
            eval_digest = (
                "sha256:" + file_sha256(files["eval_data"]) if "eval_data" in files else None
            )
            registered = tracking.register(
                run_id,
                trained.model_uri,
                self.model_name,
                digest=digest,
                tags=_version_tags(run_id, digest, eval_digest, trained, tags),
                description=f"Trained by modelci {__version__} in MLflow run {run_id}.",
                known=_known(manifest),
            )
            version = registered.version
        except BaseException as exc:
            # Nothing registered stays behind a step that did not finish; never mask the
            # error that got us here.
            tracking.end(run_id, _status(exc), self.model_name, version)
            raise
        trained.checks += [
            Check(rule="registry housekeeping", passed=False, message=n, severity="warning")
            for n in registered.notes
        ]
        runfolder = self.ctx.runfolder
        step_dir = runfolder.path / STEP
        placed = {key: step_dir / path.name for key, path in files.items()}
        result = _result(
            trained, self.target, self.model_name, version, run_id, digest, started,
            runfolder, step_dir / MODEL_DIR, manifest,
        )  # fmt: skip
        record = result.record
        # The model folder and the evaluation files replace an earlier run's only with the
        # manifest entry that describes them (a failed re-run leaves the run folder as its
        # manifest says); the section replaces the earlier run's whole.
        record.moves = {MODEL_DIR: model_dir, **{path.name: path for path in files.values()}}
        record.section = TrainFacts(
            run_id=run_id,
            experiment_id=opened.experiment_id,
            tracking_uri=self.target.display,
            registered_model=self.model_name,
            model_version=version,
            model_uri=f"models:/{self.model_name}/{version}",
            run_model_uri=trained.model_uri,
            model_digest=digest,
            model_path=runfolder.relative(step_dir / MODEL_DIR),
            task=trained.task,  # type: ignore[arg-type]
            target=trained.target,
            metrics=dict(trained.metrics),
            params=dict(trained.params),
            classes=tuple(trained.classes) if trained.task == "classification" else None,
            data_digest=trained.dataset.digest if trained.dataset is not None else None,
            eval_data=runfolder.relative(placed["eval_data"]) if "eval_data" in placed else None,
            eval_digest=eval_digest,
            predictions=(
                runfolder.relative(placed["predictions"]) if "predictions" in placed else None
            ),
        )
        # Once recorded the version is an ordinary candidate; if the record cannot be
        # written, the version is deleted and the run failed.
        target, policy, name, number = self.target, self.policy, self.model_name, version
        record.recorded.append(lambda: mark_ready(target, policy, name, number))
        record.failed.append(lambda: undo(target, policy, run_id, name, number))
        return result

    # --- the two modes ---------------------------------------------------------------------

    def _estimator_mode(
        self, opened: RunRef, estimator: Any, prepared: Prepared
    ) -> tuple[Trained, Path]:
        """Fit, check the model survives its serialization, log everything, then fetch the
        logged model folder: what the registry will hold."""
        from modelci.training import environment, serialization
        from modelci.training.fit import predictions_table

        config = self.config
        fitted = _fit(config, estimator, prepared)
        checked = serialization.check(
            fitted.model,
            fitted.input_example,
            str(config.get("train.serialization", "skops")),
            config.where("train.serialization"),
        )
        seed = int(config.get("train.seed", 42))
        estimator_path = str(config.get("train.estimator"))
        params = {"estimator": estimator_path, **_json_params(estimator.get_params(deep=False))}
        settings = {
            "modelci.task": prepared.task,
            "modelci.target": prepared.target,
            "modelci.seed": seed,
            "modelci.features": ",".join(prepared.features),
            "modelci.split.test_size": (
                "explicit"
                if prepared.test_dataset is not None
                else config.get("train.split.test_size")
            ),
            "modelci.cv.folds": config.get("train.cv.folds", 0),
            "modelci.preprocess": config.get("train.preprocess"),
        }
        metrics = {**fitted.metrics, **fitted.cv_metrics}
        datasets = [_dataset(prepared.dataset, prepared.frame, prepared.target, "training")]
        if prepared.test_dataset is not None and prepared.test_frame is not None:
            datasets.append(
                _dataset(prepared.test_dataset, prepared.test_frame, prepared.target, "evaluation")
            )
        # In this order: the logged model copies the run's parameters and metrics.
        self.tracking.log(
            opened.run_id,
            params={k: _param_value(v) for k, v in {**params, **settings}.items()},
            metrics=metrics,
            tags=_dataset_tags(prepared.dataset),
            datasets=datasets,
        )
        model_uri = self.tracking.log_model(
            opened,
            ModelSpec(
                model=fitted.model,
                example=fitted.input_example,
                serialization=checked.serialization,
                trusted_types=checked.trusted_types,
                requirements=environment.requirements(checked.serialization, estimator),
                code_paths=environment.code_paths(estimator),
            ),
        )
        y_true = prepared.test_y if prepared.test_y is not None else prepared.y[prepared.test_rows]
        trained = Trained(
            task=prepared.task,
            target=prepared.target,
            model_uri=model_uri,
            metrics=metrics,
            params=params,
            classes=fitted.classes,
            dataset=prepared.dataset,
            eval_table=prepared.eval_table,
            predictions=predictions_table(
                prepared.test_rows, y_true, fitted.y_pred, fitted.proba, fitted.classes
            ),
            checks=[
                Check(rule="fit warning", passed=False, message=text, severity="warning")
                for text in fitted.fit_warnings
            ],
        )
        return trained, self.tracking.download(model_uri, self.scratch / "download")

    def _command_mode(self, opened: RunRef, command: str) -> tuple[Trained, Path]:
        from modelci.training.script import child_env, run_command

        config = self.config
        extra = {}
        if data_path := config.path("data.path"):
            extra["MODELCI_DATA_PATH"] = str(data_path.resolve())
        if target_column := config.get("data.target"):
            extra["MODELCI_TARGET"] = str(target_column)
        env = child_env(
            self.ctx.env,
            tracking_uri=self.target.uri,
            run_id=opened.run_id,
            experiment_id=opened.experiment_id,
            run_folder=self.ctx.runfolder.path,
            autolog=bool(config.get("train.autolog", True)),
            extra=extra,
        )
        run_command(command, env, config.base_dir, where=config.where("train.command"))
        found = self.tracking.command_model(opened, config.where("train.command"))
        trained = Trained(
            task=None,
            target=target_column,
            model_uri=found.model_uri,
            metrics=dict(found.metrics),
            params={"command": command, **found.params},
        )
        model_dir = self.tracking.download(trained.model_uri, self.scratch / "download")
        self._evaluate_command_model(opened.run_id, trained, model_dir)
        return trained, model_dir

    def _evaluate_command_model(self, run_id: str, trained: Trained, model_dir: Path) -> None:
        """Score the script's model on the holdout and log the data it was trained on."""
        from modelci.training.evaluate import evaluate_logged

        config = self.config
        evaluation = evaluate_logged(config, model_dir)
        dataset: Dataset | None = None
        frame: pd.DataFrame | None = None
        metrics: dict[str, float] = {}
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
            metrics = {f"holdout_{k}": v for k, v in evaluation.metrics.items()}
        elif config.path("data.path") is not None:
            from modelci.training.data import read

            dataset = read(config, "data.path")
            frame = dataset.table.slice(0, SAMPLE_ROWS).to_pandas()
        if dataset is not None:
            trained.dataset = dataset
        if dataset is not None or metrics:
            self.tracking.log(
                run_id,
                metrics=metrics,
                tags=_dataset_tags(dataset),
                datasets=[_dataset(dataset, frame, trained.target, "training")]
                if dataset is not None and frame is not None
                else [],
            )


def _status(exc: BaseException) -> str:
    """How a run ends when the step does not finish: stopped, or failed."""
    return KILLED if isinstance(exc, KeyboardInterrupt | deadline.Expired) else FAILED


def _dataset(
    dataset: Dataset, frame: pd.DataFrame, target: str | None, context: str
) -> DatasetSpec:
    """A dataset as the run records it: a sample for the schema, the real size and digest."""
    return DatasetSpec(
        sample=frame.head(SAMPLE_ROWS),
        source=dataset.source,
        name=Path(dataset.source).name or "data",
        digest=dataset.digest,
        target=target,
        context=context,
        rows=dataset.table.num_rows,
        elements=dataset.table.num_rows * dataset.table.num_columns,
    )


def _fit(config: Config, estimator: Any, prepared: Prepared) -> Fitted:
    from modelci.training import fit

    return fit.train(
        estimator,
        prepared,
        preprocess=config.get("train.preprocess") or {},
        metric_names=config.get("train.metrics"),
        cv_folds=int(config.get("train.cv.folds", 0)),
        seed=int(config.get("train.seed", 42)),
        estimator_path=str(config.get("train.estimator")),
    )


def _dataset_tags(dataset: Dataset | None) -> dict[str, str]:
    if dataset is None:
        return {}
    return {
        registry_tags.DATASET_DIGEST: dataset.digest,
        registry_tags.DATASET_SOURCE: secrets.uri_display(dataset.source),
    }


def _version_tags(
    run_id: str,
    digest: str,
    eval_digest: str | None,
    trained: Trained,
    run_tags: Mapping[str, str],
) -> dict[str, str]:
    """What the registry knows of a version from the start: its digests (which compare and
    promote check the run folder against) and that it is pending until recorded."""
    found = {
        registry_tags.RUN_ID: run_id,
        registry_tags.MODEL_DIGEST: digest,
        registry_tags.STATE: registry_tags.PENDING,
        registry_tags.OWNER: orphans.owner(),
    }
    if eval_digest:
        found[registry_tags.EVAL_DIGEST] = eval_digest
    if trained.dataset:
        found[registry_tags.DATASET_DIGEST] = trained.dataset.digest
    for key in (registry_tags.GIT_COMMIT, registry_tags.GIT_BRANCH, registry_tags.CI_RUN_URL):
        if key in run_tags:
            found[key] = run_tags[key]
    return found


def _known(manifest: Manifest) -> Known:
    """The version and run the run folder records, which a crashed train's sweep keeps."""
    train = manifest.train
    return Known(None, None) if train is None else Known(train.model_version, train.run_id)


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
    target: Location,
    model_name: str,
    version: str,
    run_id: str,
    digest: str,
    started: float,
    runfolder: RunFolder,
    model_dir: Path,
    manifest: Manifest,
) -> StepResult:
    import json

    checks = [
        Check(rule="model registered", passed=True, observed=f"{model_name}/{version}"),
        *_dataset_checks(manifest, trained.dataset),
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
        reports.markdown_table(checks, STEP),
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


def _dataset_checks(manifest: Manifest, dataset: Dataset | None) -> list[Check]:
    validated = manifest.datasets.get("data")
    if dataset is None or validated is None or not validated.digest:
        return []
    seen = validated.digest
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


SPEC = StepSpec(
    name=STEP,
    help="""Train a model, track the run in MLflow and register a new model version.

    DATA is the training data. Without registry.tracking_uri or MLFLOW_TRACKING_URI, runs are
    tracked in a store inside the run folder (local runs; compare and promote refuse it in
    CI). Exit 0 when the model is registered, 2 on bad input, 3 when the tracking server
    stays unreachable.""",
    run=run,
    inputs=(
        Input("data", "data.path", "Training data (CSV or Parquet).", positional=True),
        Input("target", "data.target", "Label column."),
        Input(
            "estimator",
            "train.estimator",
            "Estimator import path, e.g. sklearn.linear_model.LogisticRegression.",
        ),
        Input("params", "train.params", "Estimator parameters as a JSON object."),
        Input(
            "command",
            "train.command",
            "Your own training command (e.g. 'python train.py'), run inside the MLflow run "
            "modelci starts; replaces estimator.",
        ),
        Input("contract", "contract", "Data contract giving each column's kind."),
        Input("test-data", "train.split.test_path", "Explicit test file (no split is made)."),
        Input("test-size", "train.split.test_size", "Share of rows held out for the metrics."),
        Input("seed", "train.seed", "Seed of the split, the folds and the estimator."),
        Input("cv-folds", "train.cv.folds", "k-fold cross-validation on the training rows."),
        Input("task", "train.task", "Task: auto decides from the estimator or the target."),
        Input("model-name", "registry.model_name", "Registered model name."),
        Input("tracking-uri", "registry.tracking_uri", "MLflow tracking URI."),
        Input("experiment", "train.experiment", "MLflow experiment (default: the model name)."),
    ),
    outputs=(
        Output("run-id", "MLflow run id."),
        Output("model-uri", "Registered model URI (models:/name/version)."),
        Output("model-version", "Registered model version."),
        Output("model-digest", "SHA-256 digest of the model folder."),
        Output("metrics", "Holdout metrics as a JSON object."),
    ),
    extras=("train",),
)
