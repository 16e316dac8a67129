"""A step that fails leaves no fresh reports behind: its JUnit, summary, JSON report, the CI
files and its manifest entry are written together, or none of them (issue 10 §2).

A CI system reads ``junit.xml`` whatever the exit code; an all-passing one left by a step
that then failed would show a green test report for a red job."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, CliRunner

REPORTS = ("junit.xml", "summary.md", "report.json", "outputs.env", "metrics.txt")


@pytest.fixture
def project(in_tmp: Path) -> Path:
    shutil.copytree(EXAMPLE, in_tmp, dirs_exist_ok=True)
    return in_tmp


def _reports(project: Path) -> dict[str, bytes]:
    folder = project / ".modelci" / "validate-data"
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def test_a_corrupt_manifest_leaves_no_reports(run_cli: CliRunner, project: Path) -> None:
    (project / ".modelci").mkdir()
    (project / ".modelci" / "manifest.json").write_text("{ not json")
    res = run_cli("validate-data", env={"MODELCI_CI": "gitlab"})
    assert res.code == 2, res.err
    assert "manifest.json: not a readable manifest" in res.err
    assert not set(_reports(project)) & set(REPORTS)
    assert (project / ".modelci" / "manifest.json").read_text() == "{ not json"


def test_a_corrupt_manifest_keeps_the_reports_of_the_last_run(
    run_cli: CliRunner, project: Path
) -> None:
    assert run_cli("validate-data", env={"MODELCI_CI": "gitlab"}).code == 0
    before = _reports(project)
    assert set(REPORTS) <= set(before)
    (project / ".modelci" / "manifest.json").write_text('{"schema_version": 99}')
    res = run_cli("validate-data", "data/reference.csv", env={"MODELCI_CI": "gitlab"})
    assert res.code == 2, res.err
    assert _reports(project) == before  # nothing rewritten: old, not fresh


@pytest.mark.parametrize("ci", ["local", "github", "gitlab"])
def test_a_full_disk_while_recording_leaves_no_reports_and_no_entry(
    run_cli: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str
) -> None:
    from modelci import runfolder

    outputs, summary = tmp_path / "github-output", tmp_path / "step-summary"
    env = {"MODELCI_CI": ci, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    # an earlier step's entry, which must survive
    assert run_cli("validate-data", "data/reference.csv", "--no-drift").code == 0
    before_manifest = (project / ".modelci" / "manifest.json").read_bytes()
    before = _reports(project)
    staged: list[str] = []

    class FullHandle:
        """What ``open(..., "wb")`` returns once the disk is full: writes fail."""

        def __init__(self, path: str) -> None:
            staged.append(path)

        def __enter__(self) -> FullHandle:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    real_open = open

    def staging_open(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if ".staging-" in str(path) and "w" in mode:
            return FullHandle(str(path))
        return real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(runfolder, "open", staging_open, raising=False)
    outputs.write_text("")
    summary.write_text("")

    res = run_cli("validate-data", env=env)

    assert res.code == 2, res.err
    assert res.err.count("\n") == 1 and "No space left on device" in res.err
    assert "free disk space" in res.err
    assert staged, "the staging area was not used"
    assert _reports(project) == before  # no junit.xml, summary.md ... of the failed run
    assert (project / ".modelci" / "manifest.json").read_bytes() == before_manifest
    manifest = json.loads(before_manifest)
    assert manifest["steps"]["validate-data"]["passed"] is True
    leftovers = [p for p in (project / ".modelci").rglob(".*") if p.name != ".manifest.lock"]
    assert not leftovers, leftovers
    # and nothing was published as if the step had run
    assert outputs.read_text() == "" and summary.read_text() == ""
    assert "validate-data passed" not in res.out
