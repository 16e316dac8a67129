from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from modelci import fsutil
from modelci.errors import InputError
from modelci.runfolder import RunFolder


def test_record_step_accumulates_facts(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path / "run")
    rf.record_step(
        "validate-data",
        passed=True,
        facts={"report": "validate-data/report.json", "datasets": {"data": {"digest": "a"}}},
    )
    rf.record_step("train", passed=False, facts={"datasets": {"reference": {"digest": "b"}}})
    data = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert data["schema_version"] == 1
    assert data["steps"]["validate-data"]["passed"] is True
    assert data["steps"]["validate-data"]["report"] == "validate-data/report.json"
    assert data["steps"]["train"]["passed"] is False
    assert data["datasets"] == {"data": {"digest": "a"}, "reference": {"digest": "b"}}


def test_no_temporary_files_left(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    rf.update(lambda m: m.setdefault("x", 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".manifest.lock", "manifest.json"]


def test_failed_write_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    fsutil.write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        fsutil.write_json(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_concurrent_updates_are_not_lost(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)

    def bump(i: int) -> None:
        rf.update(lambda m: m.setdefault("seen", []).append(i))

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(rf.read()["seen"]) == list(range(20))


def test_corrupt_manifest_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match=r"manifest.json: not a readable manifest"):
        RunFolder(tmp_path).read()


def test_relative_and_resolve(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    inside = tmp_path / "train" / "model"
    assert rf.relative(inside) == "train/model"
    assert rf.resolve("train/model") == tmp_path / "train" / "model"
    assert rf.relative("/elsewhere/x") == "/elsewhere/x"
