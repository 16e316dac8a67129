"""The train step's MLflow run, in the step's own process, through MLflow's public API.

One :class:`Tracking` per step: it creates the run (after the settings and the data passed
their checks), logs parameters, metrics, dataset inputs and the model
(``mlflow.sklearn.log_model``), fetches what the team's command logged, registers the model
version last, and ends the run ``FAILED`` or ``KILLED`` when the step does not finish.

Every call names its store explicitly (``MlflowClient(tracking_uri=, registry_uri=)``,
``download_artifacts(tracking_uri=)``) where MLflow's public signature allows. It does not
for ``mlflow.sklearn.log_model``, and MLflow itself resolves some things against its
module-level URI whatever it is given (a sqlite registry fetches the logged model a version
is created from with a default ``MlflowClient()``), so a step's tracking runs inside
:func:`opened`, which points that URI at the step's store through
:func:`modelci.registry.store.using` and restores it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci.errors import InputError
from modelci.registry import client as registry
from modelci.registry import orphans, store
from modelci.registry import tags as registry_tags
from modelci.registry.connection import RetryPolicy, bounded_http, infra_errors
from modelci.registry.location import Location

if TYPE_CHECKING:
    import pandas as pd

#: the artifact name of the model inside its logged model, and of its run-folder copy
MODEL_NAME = "model"
#: run statuses the step ends a run with when it does not finish
FAILED, KILLED = "FAILED", "KILLED"
#: the dataset input tag holding modelci's full ``sha256:`` digest of the data
DIGEST_INPUT_TAG = "modelci.digest"


@dataclass(frozen=True)
class RunRef:
    """The MLflow run a train step tracks into."""

    run_id: str
    experiment_id: str


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset as the run records it: a sample for its schema, and the whole table's size
    and digest (modelci's sha256 of the data)."""

    sample: pd.DataFrame
    source: str
    name: str
    digest: str
    target: str | None
    #: ``training`` or ``evaluation``
    context: str
    rows: int
    elements: int


@dataclass(frozen=True)
class ModelSpec:
    """A fitted scikit-learn model and how to log it."""

    model: Any
    #: rows of the training data: MLflow saves them and infers the signature from them
    example: pd.DataFrame | None
    #: skops, cloudpickle or pickle
    serialization: str
    #: skops: the types of this very model to trust when loading it (``None``: skops' own)
    trusted_types: tuple[str, ...] | None
    #: pinned, so MLflow does not infer them by loading the model in a subprocess
    requirements: tuple[str, ...]
    #: the project's own estimator module or package, copied into the model folder
    code_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandModel:
    """What the team's command left in the run: its latest logged model, metrics, params."""

    model_uri: str
    metrics: Mapping[str, float]
    params: Mapping[str, str]


@dataclass(frozen=True)
class Registered:
    """A new model version, and what was done about versions earlier trains left pending."""

    version: str
    notes: tuple[str, ...] = ()


@contextlib.contextmanager
def opened(target: Location, policy: RetryPolicy, env: Mapping[str, str]) -> Iterator[Tracking]:
    """A step's tracking, with MLflow's module-level URI on ``target`` for the block."""
    with store.using(target.uri):
        yield Tracking(target, policy, env)


class Tracking:
    """One train step's run in MLflow. Nothing reaches the store before :meth:`start`."""

    def __init__(self, target: Location, policy: RetryPolicy, env: Mapping[str, str]) -> None:
        self.target = target
        self.policy = policy
        self.env = env
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("MLflow tracking: an operation came before start")
        return self._client

    def start(self, experiment: str, run_name: str, tags: Mapping[str, str]) -> RunRef:
        """Reach the store (probe a server, or start the embedded one from its template),
        find or create the experiment, create the run."""
        store.prepare(self.target, self.policy, self.env)
        client = registry.client(self.target)
        experiment_id = registry.experiment_id(client, experiment, self.target.artifact_location)
        if self.target.artifact_location is not None:  # the store in the run folder
            where = client.get_experiment(experiment_id).artifact_location
            store.check_inside(self.target, where, f"experiment {experiment!r}'s artifacts")
        run = client.create_run(experiment_id, tags=dict(tags), run_name=run_name)
        self._client = client
        return RunRef(str(run.info.run_id), experiment_id)

    def log(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        datasets: Sequence[DatasetSpec] = (),
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, str(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
        )
        if datasets:
            with quiet_mlflow():
                inputs = [_dataset_input(spec) for spec in datasets]
            self.client.log_inputs(run_id, datasets=inputs)

    def log_model(self, run: RunRef, spec: ModelSpec) -> str:
        """Log the model as the run's model (after its parameters and metrics, which the
        logged model copies); its ``models:/<model_id>`` URI."""
        import mlflow.sklearn

        # MLflow files a model logged with a run id but no active run under the experiment
        # its environment names (else "Default"), not the run's: name the run's.
        experiment = {"MLFLOW_EXPERIMENT_ID": run.experiment_id, "MLFLOW_EXPERIMENT_NAME": None}
        with quiet_mlflow(), environment(experiment):
            info = mlflow.sklearn.log_model(
                spec.model,
                name=MODEL_NAME,
                run_id=run.run_id,
                serialization_format=spec.serialization,
                skops_trusted_types=list(spec.trusted_types) if spec.trusted_types else None,
                pip_requirements=list(spec.requirements),
                code_paths=list(spec.code_paths) or None,
                input_example=spec.example,
            )
        return str(info.model_uri)

    def command_model(self, run: RunRef, where: str) -> CommandModel:
        """The latest model the team's command logged into the run, with the run's metrics
        and parameters; InputError naming ``where`` when it logged none."""
        models = self.client.search_logged_models(
            experiment_ids=[run.experiment_id], filter_string=f"source_run_id = '{run.run_id}'"
        )
        ready = [m for m in models if str(getattr(m, "status", "READY")).endswith("READY")]
        if not ready:
            raise InputError(
                f"{where}: the command logged no model to MLflow run {run.run_id}; log one "
                "with mlflow.<flavor>.log_model(...) or keep train.autolog on for a supported "
                "library"
            )
        latest = max(ready, key=lambda m: (m.creation_timestamp or 0, m.model_id))
        finished = self.client.get_run(run.run_id)
        return CommandModel(
            model_uri=f"models:/{latest.model_id}",
            metrics={k: float(v) for k, v in finished.data.metrics.items()},
            params=dict(finished.data.params),
        )

    def download(self, model_uri: str, dst: Path) -> Path:
        """The logged model's folder, fetched from the store: what the registry will hold."""
        import mlflow.artifacts

        # Resolved here: MLflow resolves a models:/<model_id> URI against its module-level
        # tracking URI, whatever tracking_uri it is given.
        found = self.client.get_logged_model(model_uri.removeprefix("models:/"))
        uri = self.target.uri
        return Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=found.artifact_location,
                dst_path=str(dst),
                tracking_uri=uri,
                registry_uri=uri,
            )
        )

    def register(
        self,
        run_id: str,
        model_uri: str,
        model_name: str,
        *,
        digest: str,
        tags: Mapping[str, str],
        description: str,
        known: orphans.Known,
    ) -> Registered:
        """Close the run and register the model version: the last change a step makes.

        Versions an earlier, crashed train left pending are adopted or archived first
        (``known`` is the version and run id the run folder records); a model this call
        creates has none."""
        created = registry.create_model(self.client, model_name)
        notes = [] if created else orphans.sweep(self.client, self.target, model_name, known)
        self.client.set_tag(run_id, registry_tags.MODEL_DIGEST, digest)
        self.client.set_terminated(run_id, "FINISHED")
        version = registry.register(
            self.client, model_uri, model_name, run_id, tags=tags, description=description
        )
        return Registered(version, tuple(notes))

    def end(self, run_id: str, status: str, model_name: str, version: str | None) -> None:
        """Undo a registration and end the run with ``status`` (FAILED or KILLED); never
        raise, since an error is already on its way to the user."""
        if self._client is not None:
            _undo(self._client, run_id, status, model_name, version)


# After the step: the run folder's record is written (or failed) once the step has returned
# and its tracking block closed, so these reach the store again on their own.


def mark_ready(target: Location, policy: RetryPolicy, model_name: str, version: str) -> None:
    """The run folder records the version: it is no longer pending."""
    with bounded_http(policy), infra_errors(target), store.using(target.uri):
        ready = {registry_tags.STATE: registry_tags.READY}
        registry.set_tags(registry.client(target), target, model_name, version, ready)


def undo(target: Location, policy: RetryPolicy, run_id: str, model_name: str, version: str) -> None:
    """The run folder could not record the version: delete it and fail the run. Never
    raises (the error that got here is on its way to the user)."""
    with contextlib.suppress(Exception), bounded_http(policy), store.using(target.uri):
        _undo(registry.client(target), run_id, FAILED, model_name, version)


def _undo(client: Any, run_id: str, status: str, model_name: str, version: str | None) -> None:
    if version is not None:
        registry.delete_version(client, model_name, version)
    with contextlib.suppress(Exception):
        client.set_terminated(run_id, status)


def _dataset_input(spec: DatasetSpec) -> Any:
    """A dataset input from a sample of the data (for its schema) and its real size.

    MLflow's dataset entity holds a schema, a profile (rows, elements) and a digest; the
    schema is inferred from the sample's column types, which are the whole table's, and the
    digest is modelci's sha256 of the data, so MLflow never hashes or profiles the whole table.
    """
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    described = from_pandas(
        spec.sample,
        source=spec.source,
        targets=spec.target,
        name=spec.name,
        # MLflow stores at most 36 characters of digest; the full one is in the input tag.
        digest=spec.digest.removeprefix("sha256:")[:32],
    ).to_dict()
    described["profile"] = json.dumps({"num_rows": spec.rows, "num_elements": spec.elements})
    tags = [
        InputTag(MLFLOW_DATASET_CONTEXT, spec.context),
        InputTag(DIGEST_INPUT_TAG, spec.digest),
    ]
    return DatasetInput(Dataset(**described), tags=tags)


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """MLflow's hints about dataset sources and integer columns in signatures are about its
    own inference, not something a pipeline user can act on; keep them out of CI logs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")
        warnings.filterwarnings("ignore", category=UserWarning, message=r".*dataset source")
        warnings.filterwarnings("ignore", category=UserWarning, message=r"Hint: Inferred schema")
        yield


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for ``None``, remove) variables for the block; put back exactly what was."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            _put(name, value)
        yield
    finally:
        for name, value in saved.items():
            _put(name, value)


def _put(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
