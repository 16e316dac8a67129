"""Real MLflow registries for the compare and promote tests, built once per session.

Building a registry (sqlite migrations, logging three scikit-learn models) takes seconds, so
it is built once into a temporary folder; each test gets its own copy of the sqlite file
(aliases and tags are per test) while the read-only model artifacts are shared.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelci.registry.store import using

MODEL = "bc"
FEATURES_SMALL = 5


@dataclass(frozen=True)
class Registry:
    db: Path
    eval_frame: pd.DataFrame
    #: version -> (description, holdout accuracy)
    versions: dict[str, tuple[str, float]]


_BUILT: Registry | None = None


def _build() -> Registry:
    root = Path(tempfile.mkdtemp(prefix="modelci-compare-registry-"))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with using(uri):
        return _build_in(root)


def _build_in(root: Path) -> Registry:
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    experiment = mlflow.create_experiment(
        "compare-tests", artifact_location=str(root / "artifacts")
    )
    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    x_train, x_test, y_train, y_test = train_test_split(
        frame, target, test_size=0.33, random_state=0, stratify=target
    )
    small = list(frame.columns[:FEATURES_SMALL])
    models: list[tuple[str, Any, list[str]]] = [
        # v1: heavily regularised, clearly weaker than v2 on the same 30 features
        ("weak", make_pipeline(StandardScaler(), LogisticRegression(C=0.001)), list(frame.columns)),
        (
            "strong",
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
            list(frame.columns),
        ),
        # v3: reads other columns: a different input schema
        ("small", make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)), small),
    ]
    versions: dict[str, tuple[str, float]] = {}
    for i, (label, model, columns) in enumerate(models, start=1):
        model.fit(x_train[columns], y_train)
        with mlflow.start_run(experiment_id=experiment):
            mlflow.sklearn.log_model(
                model,
                name="model",
                signature=infer_signature(x_train[columns], model.predict(x_train[columns])),
                registered_model_name=MODEL,
                # skips mlflow's requirement inference, most of the build time
                pip_requirements=["scikit-learn"],
            )
        versions[str(i)] = (label, float(model.score(x_test[columns], y_test)))
        _tag_digest(str(i), root)
    evaluation = x_test.copy()
    evaluation["target"] = y_test.to_numpy()
    evaluation["__row"] = np.arange(len(evaluation))
    return Registry(root / "mlflow.db", evaluation.reset_index(drop=True), versions)


def _tag_digest(version: str, root: Path) -> None:
    """What modelci train records at registration: the digest of the files it logged."""
    import mlflow.artifacts
    from mlflow.tracking import MlflowClient

    from modelci.digests import model_digest
    from modelci.registry import tags

    folder = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{MODEL}/{version}", dst_path=str(root / "digests" / version)
    )
    MlflowClient().set_model_version_tag(
        MODEL, version, tags.MODEL_DIGEST, model_digest(Path(folder))
    )


def registry() -> Registry:
    global _BUILT
    if _BUILT is None:
        _BUILT = _build()
    return _BUILT


def project(
    base: Path,
    *,
    champion: str | None = "1",
    candidate: str = "2",
    config: str = "",
    eval_frame: pd.DataFrame | None = None,
    manifest_extra: dict[str, Any] | None = None,
    local_model: bool = False,
) -> Path:
    """A project folder with its own registry copy (named in modelci.yaml), a run folder and
    a train manifest."""
    from mlflow.tracking import MlflowClient

    built = registry()
    run = base / ".modelci"
    run.mkdir(parents=True, exist_ok=True)
    db = base / "mlflow.db"
    shutil.copyfile(built.db, db)
    uri = f"sqlite:///{db}"
    if champion is not None:
        MlflowClient(tracking_uri=uri, registry_uri=uri).set_registered_model_alias(
            MODEL, "champion", champion
        )
    frame = built.eval_frame if eval_frame is None else eval_frame
    (run / "train").mkdir(exist_ok=True)
    frame.to_parquet(run / "train" / "eval.parquet")
    train_extra: dict[str, Any] = {}
    if local_model:
        # as train leaves it: the candidate's MLflow model folder inside the run folder
        import mlflow
        import mlflow.artifacts

        with using(uri):
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{MODEL}/{candidate}", dst_path=str(run / "train" / "model")
            )
        train_extra["model_path"] = "train/model"
    registered = MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version(
        MODEL, candidate
    )
    manifest = {
        "schema_version": 2,
        "modelci_version": "0.1.0",
        "created": "2026-01-01T00:00:00Z",
        "steps": {"train": {"passed": True, "finished": "2026-01-01T00:00:00Z"}},
        "train": {
            "run_id": registered.run_id,
            "experiment_id": "1",
            "tracking_uri": uri,
            "task": "classification",
            "target": "target",
            "classes": [0, 1],
            "model_uri": f"models:/{MODEL}/{candidate}",
            "run_model_uri": str(registered.source),
            "registered_model": MODEL,
            "model_version": candidate,
            "model_digest": registered.tags["modelci.model.digest"],
            "eval_data": "train/eval.parquet",
            **train_extra,
        },
        **(manifest_extra or {}),
    }
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    # a fresh run: the steps' copies of an earlier one's manifest would be newer than this one
    for copy in run.glob("*/manifest.json"):
        copy.unlink()
    # The registry comes from configuration, never from the run folder.
    (base / "modelci.yaml").write_text(
        f"version: 1\nregistry:\n  tracking_uri: {uri}\n" + config, encoding="utf-8"
    )
    return base


def alias_version(base: Path, alias: str = "champion") -> str | None:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{base / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        return str(client.get_model_version_by_alias(MODEL, alias).version)
    except MlflowException:
        return None


def version_tags(base: Path, version: str) -> dict[str, str]:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{base / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return dict(client.get_model_version(MODEL, version).tags)


def decision(base: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (base / ".modelci" / "compare" / "decision.json").read_text(encoding="utf-8")
    )
    return data
