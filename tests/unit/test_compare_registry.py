"""Where compare and promote look for the registry, and how they read model URIs."""

from __future__ import annotations

from pathlib import Path

from modelci import config as config_mod
from modelci.comparing.registry import parse_models_uri, tracking_uri
from modelci.runfolder import RunFolder


def _config(tmp_path: Path, text: str = "") -> config_mod.Config:
    (tmp_path / "modelci.yaml").write_text("version: 1\n" + text, encoding="utf-8")
    return config_mod.load(tmp_path / "modelci.yaml", env={})


def test_tracking_uri_follows_train_order(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / ".modelci")
    run.path.mkdir()
    recorded = {"train": {"tracking_uri": "http://mlflow.internal:5000"}}
    config = _config(tmp_path)
    own = f"sqlite:///{(run.path / 'mlflow.db').resolve()}"
    assert tracking_uri(config, {}, run, {}) == own
    assert tracking_uri(config, recorded, run, {}) == "http://mlflow.internal:5000"
    # the variable may carry credentials that the manifest leaves out
    env = {"MLFLOW_TRACKING_URI": "http://user:pw@mlflow.internal:5000"}
    assert tracking_uri(config, recorded, run, env) == env["MLFLOW_TRACKING_URI"]
    configured = _config(tmp_path, "registry:\n  tracking_uri: http://other:5000\n")
    assert tracking_uri(configured, recorded, run, env) == "http://other:5000"


def test_a_moved_run_folder_uses_its_own_store(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / ".modelci")
    run.path.mkdir()
    moved = {"train": {"tracking_uri": "sqlite:////builds/elsewhere/.modelci/mlflow.db"}}
    config = _config(tmp_path)
    # while the folder has no store of its own, the recorded one is all there is
    assert tracking_uri(config, moved, run, {}) == moved["train"]["tracking_uri"]
    (run.path / "mlflow.db").write_bytes(b"")
    assert tracking_uri(config, moved, run, {}) == f"sqlite:///{(run.path / 'mlflow.db').resolve()}"


def test_models_uris() -> None:
    assert parse_models_uri("models:/churn@champion") == ("churn", None, "champion")
    assert parse_models_uri("models:/churn/7") == ("churn", "7", None)
    assert parse_models_uri("models:/churn") == ("churn", None, None)
