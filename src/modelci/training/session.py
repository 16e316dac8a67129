"""The MLflow side of the train step: one tracked run, from creation to the registered version.

This runs in the tracking worker (:mod:`modelci.training.tracker_worker`), a process of its
own, so that importing MLflow and opening its store (the larger part of a tracked run's
cost) happens while the step imports scikit-learn and fits. The step talks to it through
:class:`modelci.training.tracker.Tracker`; every operation takes and returns plain JSON
values, and big things (the model, dataset samples) travel as files in the run folder.

Nothing is written to the tracking store before :meth:`Session.start`, which the step sends
only once the settings and the data have been checked.
"""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlparse

from modelci.errors import InputError
from modelci.registry import client as registry
from modelci.registry import connection, orphans, store
from modelci.registry import tags as registry_tags
from modelci.registry.connection import RetryPolicy
from modelci.registry.location import Location
from modelci.training.mlflow_model import FLAVOR, ModelSpec, SavedModelFlavor

#: the artifact name of the model inside its logged model, and of its run-folder copy
MODEL_NAME = "model"


class Session:
    """One train step's tracked run. Operations are the public methods but ``warm_up`` and
    ``close``."""

    def __init__(self, target: Location, policy: RetryPolicy, env: Mapping[str, str]) -> None:
        self.target = target
        self.policy = policy
        self.env = env
        self._stack = contextlib.ExitStack()
        self._client: Any = None
        # MLflow's own HTTP retries, bounded like the probe (unless the user set them).
        self._stack.enter_context(connection.bounded_http(policy))

    # --- life cycle ------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Import what the operations need and build the empty-store template; write nothing
        to the tracking store."""
        import mlflow
        import mlflow.artifacts
        import mlflow.data.pandas_dataset
        import mlflow.models.utils
        import mlflow.sklearn

        scheme = urlparse(self.target.uri).scheme
        if scheme in ("http", "https"):
            import mlflow.store.model_registry.rest_store
            import mlflow.store.tracking.rest_store
        elif scheme and scheme != "file":
            import mlflow.store.model_registry.sqlalchemy_store
            import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
        if self.target.artifact_location is not None:
            store.template(self.env)

    def close(self) -> None:
        self._stack.close()

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("tracking worker: an operation came before start")
        return self._client

    # --- operations --------------------------------------------------------------------------

    def start(self, experiment: str, run_name: str, tags: dict[str, str]) -> dict[str, str]:
        """Reach the store, find or create the experiment, create the run."""
        from mlflow import MlflowClient

        store.prepare(self.target, self.policy, self.env)
        self._stack.enter_context(store.using(self.target.uri))
        client = MlflowClient(self.target.uri, registry_uri=self.target.uri)
        experiment_id = registry.experiment_id(client, experiment, self.target.artifact_location)
        run = client.create_run(experiment_id, tags=tags, run_name=run_name)
        self._client = client
        return {"run_id": str(run.info.run_id), "experiment_id": experiment_id}

    def log(
        self,
        run_id: str,
        params: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
        datasets: list[dict[str, Any]] | None = None,
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
            with _quiet_mlflow():
                inputs = [_dataset_input(spec) for spec in datasets]
            self.client.log_inputs(run_id, datasets=inputs)

    def log_model(self, run_id: str, spec: dict[str, Any]) -> dict[str, str]:
        """Complete the model folder the step saved, and log it as the run's model."""
        from mlflow.models import Model

        model = ModelSpec(**spec)
        with _quiet_mlflow():
            info = Model.log(
                None,
                flavor=SavedModelFlavor(model),
                name=MODEL_NAME,
                run_id=run_id,
                flavor_name=FLAVOR,
                serialization_format=model.format,
                # The step loaded the saved file back and checked its predictions; MLflow's
                # check would load it again here, which means importing scikit-learn.
                validate_serving_input=False,
            )
        return {"model_uri": str(info.model_uri)}

    def command_model(self, experiment_id: str, run_id: str, where: str) -> dict[str, Any]:
        """What the team's script left in the run: its latest logged model, metrics, params."""
        models = self.client.search_logged_models(
            experiment_ids=[experiment_id], filter_string=f"source_run_id = '{run_id}'"
        )
        ready = [m for m in models if str(getattr(m, "status", "READY")).endswith("READY")]
        if not ready:
            raise InputError(
                f"{where}: the command logged no model to MLflow run {run_id}; log one with "
                "mlflow.<flavor>.log_model(...) or keep train.autolog on for a supported library"
            )
        latest = max(ready, key=lambda m: (m.creation_timestamp or 0, m.model_id))
        finished = self.client.get_run(run_id)
        return {
            "model_uri": f"models:/{latest.model_id}",
            "metrics": {k: float(v) for k, v in finished.data.metrics.items()},
            "params": dict(finished.data.params),
        }

    def download(self, model_uri: str, dst: str) -> dict[str, str]:
        import mlflow.artifacts

        return {"path": str(mlflow.artifacts.download_artifacts(model_uri, dst_path=dst))}

    def finish(
        self,
        run_id: str,
        model_uri: str,
        model_name: str,
        digest: str,
        tags: dict[str, str],
        description: str,
        known: list[str | None],
    ) -> dict[str, Any]:
        """Close the run and register the model version: the last thing a step does.

        Versions an earlier, crashed train left pending are adopted or archived first
        (``known`` is the version and run id the run folder records)."""
        notes = orphans.sweep(self.client, self.target, model_name, orphans.Known(*known))
        self.client.set_tag(run_id, registry_tags.MODEL_DIGEST, digest)
        self.client.set_terminated(run_id, "FINISHED")
        version = registry.register(
            self.client, model_uri, model_name, run_id, tags=tags, description=description
        )
        return {"version": version, "notes": notes}

    def ready(self, model_name: str, version: str) -> None:
        """The run folder records the version: it is no longer pending."""
        registry.set_tags(
            self.client,
            self.target,
            model_name,
            version,
            {registry_tags.STATE: registry_tags.READY},
        )

    def fail(self, run_id: str, model_name: str, version: str | None = None) -> None:
        """Undo a registration and mark the run FAILED; never raise (an error is already
        on its way to the user)."""
        if self._client is None:
            return
        if version is not None:
            registry.delete_version(self._client, model_name, version)
        with contextlib.suppress(Exception):
            self._client.set_terminated(run_id, "FAILED")


def _dataset_input(spec: Mapping[str, Any]) -> Any:
    """A dataset input from a sample of the data (for its schema) and its real size.

    MLflow's dataset entity holds a schema, a profile (rows, elements) and a digest; the
    schema is inferred from the sample's column types, which are the whole table's, and the
    digest is modelci's sha256 of the data, so the worker never needs the whole table.
    """
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    full_digest = str(spec["digest"])
    described = from_pandas(
        pd.read_parquet(spec["sample"]),
        source=spec["source"],
        targets=spec.get("target"),
        name=spec["name"],
        # MLflow stores at most 36 characters of digest; the full one is in the input tag.
        digest=full_digest.removeprefix("sha256:")[:32],
    ).to_dict()
    described["profile"] = json.dumps(
        {"num_rows": int(spec["rows"]), "num_elements": int(spec["elements"])}
    )
    tags = [
        InputTag(MLFLOW_DATASET_CONTEXT, str(spec["context"])),
        InputTag("modelci.digest", full_digest),
    ]
    return DatasetInput(Dataset(**described), tags=tags)


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """MLflow's hints about dataset sources and integer columns in signatures are about its
    own inference, not something a pipeline user can act on; keep them out of CI logs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")
        warnings.filterwarnings("ignore", category=UserWarning, message=r".*dataset source")
        warnings.filterwarnings("ignore", category=UserWarning, message=r"Hint: Inferred schema")
        yield
