"""The model digest: stable across runs of the same model, sensitive to any real change."""

from __future__ import annotations

import copy
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelci.training.digest import model_digest


def _model_folder(folder: Path, model: Any, run_id: str, created: str) -> Path:
    import skops.io

    folder.mkdir()
    # A deep copy has fresh object ids, so skops names its members differently.
    (folder / "model.skops").write_bytes(skops.io.dumps(copy.deepcopy(model)))
    meta = {
        "flavors": {"sklearn": {"pickled_model": "model.skops", "sklearn_version": "1"}},
        "run_id": run_id, "model_id": f"m-{run_id}", "model_uuid": run_id,
        "utc_time_created": created, "mlflow_version": "3.17.2",
    }  # fmt: skip
    (folder / "MLmodel").write_text(yaml.safe_dump(meta))
    (folder / "requirements.txt").write_text("scikit-learn==1.0\n")
    return folder


@pytest.fixture(scope="module")
def model() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_iris(return_X_y=True)
    return DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y)


def test_run_ids_times_and_object_ids_do_not_change_the_digest(model: Any, tmp_path: Path) -> None:
    a = _model_folder(tmp_path / "a", model, "run1", "2024-01-01 00:00:00")
    b = _model_folder(tmp_path / "b", model, "run2", "2025-06-30 12:34:56")
    assert (a / "model.skops").read_bytes() != (b / "model.skops").read_bytes()
    assert model_digest(a) == model_digest(b)
    # a download from the registry adds this file; it is not part of the model
    (b / "registered_model_meta").write_text("model_name: x\nmodel_version: '3'\n")
    assert model_digest(a) == model_digest(b)


def test_any_real_change_changes_the_digest(model: Any, tmp_path: Path) -> None:
    from sklearn.base import clone
    from sklearn.datasets import load_iris

    base = model_digest(_model_folder(tmp_path / "base", model, "r", "t"))
    x, y = load_iris(return_X_y=True)
    other = clone(model).set_params(max_depth=3).fit(x, y)
    assert model_digest(_model_folder(tmp_path / "other", other, "r", "t")) != base
    reqs = _model_folder(tmp_path / "reqs", model, "r", "t")
    (reqs / "requirements.txt").write_text("scikit-learn==1.1\n")
    assert model_digest(reqs) != base
    meta = _model_folder(tmp_path / "meta", model, "r", "t")
    data = yaml.safe_load((meta / "MLmodel").read_text())
    data["flavors"]["sklearn"]["sklearn_version"] = "2"
    (meta / "MLmodel").write_text(yaml.safe_dump(data))
    assert model_digest(meta) != base


def test_skops_member_content_is_covered(model: Any, tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "m", model, "r", "t")
    before = model_digest(folder)
    raw = io.BytesIO((folder / "model.skops").read_bytes())
    with zipfile.ZipFile(raw) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    name = next(n for n in members if n.endswith(".npy"))
    members[name] = members[name][:-1] + bytes([members[name][-1] ^ 1])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    (folder / "model.skops").write_bytes(out.getvalue())
    assert model_digest(folder) != before
