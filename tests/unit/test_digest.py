"""modelci.digests: dataset and model digests stable across runs, listing order and locations,
and sensitive to any real change."""

from __future__ import annotations

import copy
import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelci.data import dataset_digest, read_dataset
from modelci.digests import CHUNK, file_sha256, model_digest, sha256_of


def make_folder(root: Path) -> list[Path]:
    files = []
    for name, data in (("a.csv", b"x,y\n1,2\n"), ("sub/b.csv", b"x,y\n3,4\n"), ("c.csv", b"x,y\n")):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(path)
    return files


def test_single_file_is_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    # Spans several chunks, with a partial last one, to exercise the streaming.
    data = os.urandom(2 * CHUNK + 123)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    assert dataset_digest([path]) == expected
    seen: list[int] = []
    assert file_sha256(path, lambda chunk: seen.append(len(chunk))) == expected[7:]
    assert seen == [CHUNK, CHUNK, 123]


def test_same_bytes_same_digest(tmp_path: Path) -> None:
    first = make_folder(tmp_path / "one")
    second = make_folder(tmp_path / "two")
    one = dataset_digest(first, tmp_path / "one")
    assert one == dataset_digest(second, tmp_path / "two")
    assert one.startswith("sha256:")
    assert len(one) == len("sha256:") + 64
    assert one == dataset_digest(first, tmp_path / "one")


def test_listing_order_does_not_matter(tmp_path: Path) -> None:
    files = make_folder(tmp_path)
    assert dataset_digest(files, tmp_path) == dataset_digest(list(reversed(files)), tmp_path)


def test_canonical_listing_format(tmp_path: Path) -> None:
    files = make_folder(tmp_path)
    listing = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(tmp_path).as_posix()}\n"
        for p in sorted(files, key=lambda p: p.relative_to(tmp_path).as_posix())
    )
    expected = "sha256:" + hashlib.sha256(listing.encode()).hexdigest()
    assert dataset_digest(files, tmp_path) == expected


def test_one_byte_changed_changes_the_digest(tmp_path: Path) -> None:
    files = make_folder(tmp_path)
    before = dataset_digest(files, tmp_path)
    files[1].write_bytes(b"x,y\n3,5\n")
    assert dataset_digest(files, tmp_path) != before
    assert dataset_digest([files[1]]) != dataset_digest([files[0]])


def test_renaming_a_file_changes_the_digest(tmp_path: Path) -> None:
    files = make_folder(tmp_path)
    before = dataset_digest(files, tmp_path)
    renamed = files[2].with_name("d.csv")
    files[2].rename(renamed)
    assert dataset_digest([files[0], files[1], renamed], tmp_path) != before


def test_moving_the_folder_keeps_the_digest(tmp_path: Path) -> None:
    files = make_folder(tmp_path / "here")
    before = dataset_digest(files, tmp_path / "here")
    # Default root (the files' common folder) is also location independent.
    assert dataset_digest(files) == before
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.move(tmp_path / "here", moved)
    moved_files = sorted(p for p in moved.rglob("*") if p.is_file())
    assert dataset_digest(moved_files, moved) == before
    assert dataset_digest(moved_files) == before


def test_read_dataset_digest_matches_and_survives_a_move(tmp_path: Path) -> None:
    make_folder(tmp_path / "data")
    data = read_dataset(tmp_path / "data")
    assert data.digest == dataset_digest(list(data.files), tmp_path / "data")
    shutil.move(tmp_path / "data", tmp_path / "moved")
    assert read_dataset(tmp_path / "moved").digest == data.digest
    assert read_dataset(str(tmp_path / "moved" / "**" / "*.csv")).digest == data.digest


def test_no_files_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one file"):
        dataset_digest([])


def test_bytes_digest_is_the_sha256_of_the_bytes() -> None:
    assert sha256_of(b"abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()


# --- model folders ---------------------------------------------------------------------------


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
