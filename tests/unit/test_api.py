"""The Python API: one call per step, as a notebook would use it, on the quickstart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import modelci
from tests.conftest import EXAMPLE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


def test_one_call_per_step_from_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "churn"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".modelci"))
    monkeypatch.chdir(tmp_path)
    env = {"HOME": str(tmp_path), "MODELCI_HOME": str(tmp_path / "home")}

    checked = modelci.validate_data(project=project, env=env)
    assert checked.passed and checked.step == "validate-data"
    trained = modelci.train(project=project, env=env, cv_folds=0, seed=7)
    assert trained.passed
    assert trained.outputs["model-version"] == "1"
    compared = modelci.compare(project=project, env=env, resamples=200)
    assert compared.passed  # the first model: no production yet, passed under the policy
    promoted = modelci.promote(project=project, env=env)
    assert promoted.passed
    assert promoted.outputs["version"] == "1"
    # the same run folder the command line would have used
    manifest = (tmp_path / ".modelci" / "manifest.json").read_text()
    assert '"promote"' in manifest


def test_bad_input_raises_the_error_the_command_line_exits_with(tmp_path: Path) -> None:
    with pytest.raises(modelci.InputError) as info:
        modelci.validate_data(tmp_path / "missing.csv", contract="nope.yaml", env={})
    assert info.value.exit_code == 2
    with pytest.raises(TypeError, match="cv_folds"):
        modelci.train(cv=3)
    with pytest.raises(modelci.ConfigError, match="no such file"):
        modelci.pipeline(tmp_path / "nowhere")
