"""The run folder: a typed, validated manifest; a step's files and entry written together."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from modelci import fsutil
from modelci import manifest as manifest_mod
from modelci.errors import InputError
from modelci.manifest import DatasetFacts, ValidateFacts
from modelci.runfolder import RunFolder, Staged


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_record_writes_the_section_the_step_record_and_its_files(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path / "run")
    rf.record(
        "validate-data",
        passed=True,
        section=ValidateFacts(passed=True, checks=3, failed=0),
        datasets={"data": DatasetFacts(source="d.csv", digest="sha256:a")},
        staged=Staged(files={"report.json": "{}", "plots/a.png": b"\x89PNG"}),
        report="validate-data/report.json",
    )
    rf.record("train", passed=False, datasets={"reference": DatasetFacts("r.csv", "sha256:b")})
    data = _json(tmp_path / "run" / "manifest.json")
    assert data["schema_version"] == manifest_mod.SCHEMA_VERSION
    assert data["steps"]["validate-data"]["passed"] is True
    assert data["steps"]["validate-data"]["report"] == "validate-data/report.json"
    assert data["steps"]["train"]["passed"] is False
    assert set(data["datasets"]) == {"data", "reference"}
    assert data["validate_data"] == {"passed": True, "checks": 3, "failed": 0}
    assert (tmp_path / "run" / "validate-data" / "plots" / "a.png").read_bytes() == b"\x89PNG"
    typed = rf.manifest()
    assert typed.validate_data == ValidateFacts(passed=True, checks=3, failed=0)
    assert typed.datasets["reference"].digest == "sha256:b"


def test_run_folders_unpacked_over_each_other_in_any_order_read_as_the_newest(
    tmp_path: Path,
) -> None:
    """A GitLab job needing several modelci jobs gets their run folders unpacked over each
    other in no promised order: an older job's manifest.json may land last. The newest
    manifest of the folder, a step's own copy, is read."""
    run = tmp_path / "run"
    rf = RunFolder(run)
    rf.record("scan", passed=True)
    older = (run / "manifest.json").read_bytes()
    rf.record("sign", passed=True)
    (run / "manifest.json").write_bytes(older)  # scan's artifact unpacked after sign's
    assert set(rf.manifest().steps) == {"scan", "sign"}

    # the runner that signed had its clock behind: the count of records decides, not time
    data = _json(run / "sign" / "manifest.json")
    data["updated"] = "2000-01-01T00:00:00Z"
    (run / "sign" / "manifest.json").write_text(json.dumps(data))
    assert set(rf.manifest().steps) == {"scan", "sign"}
    rf.record("sbom", passed=True)
    manifest = rf.manifest()
    assert set(manifest.steps) == {"scan", "sign", "sbom"}
    assert manifest.records == 3

    # a damaged copy is named like a damaged manifest
    (run / "scan" / "manifest.json").write_text("{")
    with pytest.raises(InputError, match=r"scan/manifest\.json: not a readable manifest"):
        rf.manifest()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"records": 1' + "0" * 5000 + "}", "not a readable manifest"),
        ("[" * 200_000 + "]" * 200_000, "not a readable manifest"),
    ],
    ids=["a number too long to read", "nesting too deep"],
)
def test_a_hostile_copy_of_the_manifest_is_an_input_error(
    tmp_path: Path, content: str, why: str
) -> None:
    rf = RunFolder(tmp_path / "run")
    rf.record("scan", passed=True)
    (tmp_path / "run" / "x").mkdir()
    (tmp_path / "run" / "x" / "manifest.json").write_text(content)
    with pytest.raises(InputError, match=why):
        rf.manifest()


def test_a_huge_copy_is_refused_unread_and_an_unbelievable_count_is_not_carried_on(
    tmp_path: Path,
) -> None:
    rf = RunFolder(tmp_path / "run")
    rf.record("scan", passed=True)
    (tmp_path / "run" / "x").mkdir()
    with open(tmp_path / "run" / "x" / "manifest.json", "wb") as sparse:
        sparse.truncate(64 * 2**20)
    with pytest.raises(InputError, match="larger than 16 MiB"):
        rf.manifest()
    (tmp_path / "run" / "x" / "manifest.json").unlink()
    data = _json(tmp_path / "run" / "manifest.json")
    data["records"] = 10**30
    (tmp_path / "run" / "manifest.json").write_text(json.dumps(data))
    # not believed: scan's own copy (one record) is the newest, and the count goes on from it
    assert rf.record("sign", passed=True).records == 2


def test_whatever_stands_where_a_file_or_folder_goes_is_replaced(tmp_path: Path) -> None:
    """A folder where report.json goes, a file or a link where the model folder goes (left
    by hand, or planted): the record still lands whole, and nothing is followed."""
    rf = RunFolder(tmp_path / "run")
    step = tmp_path / "run" / "train"
    (step / "report.json").mkdir(parents=True)
    (step / "report.json" / "x").write_text("old")
    (step / "model").write_text("not a folder")
    outside = tmp_path / "outside"
    outside.mkdir()
    (step / "eval").symlink_to(outside)
    model = tmp_path / "staged-model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    evaluation = tmp_path / "staged-eval"
    evaluation.mkdir()
    rf.record(
        "train",
        passed=True,
        staged=Staged(files={"report.json": "{}"}, moves={"model": model, "eval": evaluation}),
    )
    assert (step / "report.json").read_text() == "{}"
    assert (step / "model" / "MLmodel").read_text() == "flavors: {}\n"
    assert (step / "eval").is_dir() and not (step / "eval").is_symlink()
    assert outside.is_dir()  # the link was replaced, not followed
    assert sorted(p.name for p in step.iterdir()) == [
        "eval",
        "manifest.json",
        "model",
        "report.json",
    ]


def test_a_failure_while_staging_leaves_neither_files_nor_entry(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    rf.record("validate-data", passed=True, staged=Staged(files={"report.json": "old"}))
    before = (tmp_path / "manifest.json").read_bytes()
    missing = tmp_path / "nowhere" / "model"
    with pytest.raises(FileNotFoundError):
        rf.record(
            "validate-data",
            passed=False,
            staged=Staged(files={"report.json": "new"}, moves={"model": missing}),
        )
    assert (tmp_path / "validate-data" / "report.json").read_text() == "old"
    assert (tmp_path / "manifest.json").read_bytes() == before
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == [".manifest.lock"]


def test_a_section_that_breaks_the_schema_is_never_written(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    bad = ValidateFacts(passed=True, checks="3", failed=0)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"validate_data\.checks"):
        rf.record("validate-data", passed=True, section=bad)
    assert not (tmp_path / "manifest.json").exists()


def test_failed_write_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    fsutil.write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        fsutil.write_json(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_concurrent_records_are_not_lost(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)

    def record(i: int) -> None:
        rf.record(f"step-{i}", passed=True)

    threads = [threading.Thread(target=record, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(rf.manifest().steps) == sorted(f"step-{i}" for i in range(20))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not a readable manifest"),
        ('{"schema_version": 99}', "schema_version 99 is not 2"),
        ('{"schema_version": 1}', "schema_version 1 is not 2"),
        (
            '{"schema_version": 2, "modelci_version": "x", "created": "t", '
            '"compare": {"passed": "false"}}',
            "compare.passed: expected boolean",
        ),
        (
            '{"schema_version": 2, "modelci_version": "x", "created": "t", "publish": 1}',
            "unknown key 'publish'",
        ),
    ],
)
def test_a_damaged_or_foreign_manifest_is_an_input_error_naming_the_key(
    tmp_path: Path, content: str, words: str
) -> None:
    (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(InputError, match=r"manifest\.json: ") as info:
        RunFolder(tmp_path).manifest()
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_the_shipped_schema_is_the_one_the_dataclasses_describe() -> None:
    assert manifest_mod.schema() == manifest_mod.derived_schema(), (
        "regenerate: python -c 'from modelci.manifest import write_schema; write_schema()'"
    )


def test_relative_and_resolve(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path)
    inside = tmp_path / "train" / "model"
    assert rf.relative(inside) == "train/model"
    assert rf.resolve("train/model") == tmp_path / "train" / "model"
    assert rf.relative("/elsewhere/x") == "/elsewhere/x"
