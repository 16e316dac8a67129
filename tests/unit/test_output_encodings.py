"""A console that cannot print `→`, `✅` or `…` (cp1252 on Windows runners, latin-1, a CI log
with PYTHONIOENCODING=ascii) never crashes a step: the CLI's stream wrapper replaces what the
console cannot encode, and the files of the run folder stay UTF-8 (issue 10 §2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, CliRunner
from tests.unit.compare_support import alias_version, project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

ENCODINGS = ["ascii", "cp1252", "latin-1"]


def _modelci(cwd: Path, encoding: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MODELCI_", "GITHUB_", "GITLAB_", "CI_", "MLFLOW_"))}  # fmt: skip
    env.pop("CI", None)
    env["PYTHONIOENCODING"] = encoding
    return subprocess.run(
        [sys.executable, "-m", "modelci", *args],
        cwd=cwd, env=env, capture_output=True, timeout=300, check=False,
    )  # fmt: skip


def _decoded(done: subprocess.CompletedProcess[bytes], encoding: str) -> str:
    # what the console received is valid in its encoding: nothing unencodable got through
    return (done.stdout + done.stderr).decode(encoding)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_validate_data_prints_on_a_narrow_console(tmp_path: Path, encoding: str) -> None:
    project_dir = tmp_path / "qs"
    shutil.copytree(EXAMPLE, project_dir)
    # -v prints every check; a failing batch prints the failure table and the error line
    done = _modelci(project_dir, encoding, "validate-data", "-v")
    assert done.returncode == 0, done.stderr
    assert "validate-data passed" in _decoded(done, encoding)
    summary = (project_dir / ".modelci" / "validate-data" / "summary.md").read_text("utf-8")
    assert "✅" in summary  # files are UTF-8 whatever the console

    lines = (project_dir / "data" / "train.csv").read_text().splitlines()
    (project_dir / "bad.csv").write_text("\n".join([*lines[:1], lines[1].replace(",", ",-", 1)]))
    done = _modelci(project_dir, encoding, "validate-data", "bad.csv", "--no-drift")
    assert done.returncode == 1, done.stderr
    text = _decoded(done, encoding)
    assert "Traceback" not in text
    assert "modelci: error: validate-data failed" in text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_promote_prints_on_a_narrow_console(
    in_tmp: Path, run_cli: CliRunner, encoding: str
) -> None:
    project(in_tmp, champion="1", candidate="2")
    assert run_cli("compare", "--resamples", "300").code == 0

    done = _modelci(in_tmp, encoding, "promote", "-v")

    text = _decoded(done, encoding)
    assert done.returncode == 0, text
    assert "Traceback" not in text
    assert "promote passed" in text or "promoted" in text, text
    assert alias_version(in_tmp) == "2"
    report = json.loads((in_tmp / ".modelci" / "promote" / "report.json").read_text("utf-8"))
    assert report["passed"] is True
