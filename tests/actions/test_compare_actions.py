"""actions/compare, actions/promote and their GitLab templates, run for real on a real registry.

Every test gets its own copy of the registry (``compare_support.project``); the runs find it
through the project's modelci.yaml (never through the run folder, nor an MLFLOW_TRACKING_URI
inherited from this process: the ``clean_env`` fixture drops MLFLOW_* before the runner
copies the environment).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.actions.ghrunner import Runner
from tests.actions.gitlabci import make_project, run_pipeline
from tests.actions.harness import REPO, clean_env
from tests.unit.compare_support import alias_version, project, version_tags

pytestmark = [
    pytest.mark.actions,
    pytest.mark.slow,
    pytest.mark.usefixtures("clean_env"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning"),
]


def _modelci(folder: Path, modelci_bin: Path, *args: str) -> None:
    """Run modelci in ``folder`` the way a job before this one would have."""
    done = subprocess.run(
        [str(modelci_bin / "modelci"), *args], cwd=folder, env=clean_env(), capture_output=True,
        text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_compare_action_passes_a_better_candidate(runner: Runner, action_checkout: Path) -> None:
    project(runner.workspace, champion="1", candidate="2")
    run = runner.run(action_checkout / "actions" / "compare", {"resamples": "300"})

    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outputs["passed"] == "true"
    assert run.outputs["production"] == "models:/bc/1"
    decision = json.loads((runner.workspace / run.outputs["decision"]).read_text())
    assert decision["passed"] is True and decision["resamples"] == 300
    assert (runner.workspace / run.outputs["html"]).read_text().count("data:image/png") == 3
    assert "## modelci compare" in run.summary
    assert "| accuracy |" in run.summary and "✅ must not degrade" in run.summary
    # no pull request here: the comment is skipped and says why
    assert "not running for a pull request: no comment" in run.stdout


def test_compare_action_fails_a_worse_candidate(runner: Runner, action_checkout: Path) -> None:
    project(runner.workspace, champion="2", candidate="1")
    run = runner.run(action_checkout / "actions" / "compare", {"resamples": "300"})

    assert run.exit_code == 1
    assert run.failed_step is not None and run.failed_step.id == "run"
    assert run.outputs["passed"] == "false"
    assert "❌ must not degrade" in run.summary
    [annotation] = run.annotations
    assert annotation.properties["title"] == "modelci compare: accuracy must not degrade"
    assert "lower bound of the improvement" in annotation.message


def test_compare_action_refuses_a_bad_choice_before_installing(
    runner: Runner, action_checkout: Path
) -> None:
    run = runner.run(action_checkout / "actions" / "compare", {"no-production": "maybe"})

    assert run.exit_code == 2
    assert run.failed_step is not None and run.failed_step.id == "setup"
    messages = " ".join(a.message for a in run.annotations)
    assert "input 'no-production' must be one of pass, fail; got 'maybe'" in messages


def test_promote_action_dry_run_then_promote_then_roll_back(
    runner: Runner, action_checkout: Path
) -> None:
    project(runner.workspace, champion="1", candidate="2")
    compared = runner.run(action_checkout / "actions" / "compare", {"resamples": "300"})
    assert compared.exit_code == 0, compared.stdout + compared.stderr
    action = action_checkout / "actions" / "promote"

    dry = runner.run(action, {"dry-run": "true"})
    assert dry.exit_code == 0, dry.stdout + dry.stderr
    assert "dry run: would move bc@champion from version 1 to version 2" in dry.stdout
    assert alias_version(runner.workspace) == "1"

    done = runner.run(action, {})
    assert done.exit_code == 0, done.stdout + done.stderr
    assert (done.outputs["version"], done.outputs["previous"]) == ("2", "1")
    assert (done.outputs["model"], done.outputs["alias"]) == ("bc", "champion")
    assert alias_version(runner.workspace) == "2"
    assert version_tags(runner.workspace, "2")["modelci.promote.action"] == "promote"

    back = runner.run(action, {"version": "1"})
    assert back.exit_code == 0, back.stdout + back.stderr
    assert alias_version(runner.workspace) == "1"
    assert version_tags(runner.workspace, "1")["modelci.promote.action"] == "rollback"


def test_compare_template_job_passes_with_gitlab_reports(tmp_path: Path, modelci_bin: Path) -> None:
    folder = project(tmp_path / "p", champion="1", candidate="2")
    gitlab = make_project(folder, REPO / "gitlab-templates" / "compare.yml", {"resamples": "300"})

    run = run_pipeline(gitlab, [modelci_bin])

    job = "modelci-compare"
    assert run.passed(job), run.output
    out = run.artifacts(job) / ".modelci" / "compare"
    assert json.loads((out / "decision.json").read_text())["passed"] is True
    assert 'failures="0"' in (out / "junit.xml").read_text()
    assert "MODELCI_COMPARE_PASSED=true" in (out / "outputs.env").read_text().splitlines()
    assert (out / "plots" / "roc_curve.png").is_file()
    assert "not running for a merge request: no comment" in run.job_log(job)


def test_promote_template_rolls_back(tmp_path: Path, modelci_bin: Path) -> None:
    folder = project(tmp_path / "p", champion="1", candidate="2")
    _modelci(folder, modelci_bin, "compare", "--resamples", "300")
    _modelci(folder, modelci_bin, "promote")
    gitlab = make_project(folder, REPO / "gitlab-templates" / "promote.yml", {"version": "1"})

    run = run_pipeline(gitlab, [modelci_bin])

    assert run.passed("modelci-promote"), run.output
    assert alias_version(folder) == "1"
    assert version_tags(folder, "1")["modelci.promote.action"] == "rollback"


def test_compare_template_refuses_a_registry_that_dies_with_the_job(
    tmp_path: Path, modelci_bin: Path
) -> None:
    # No registry configured: the store in the run folder would start empty in every pipeline
    # and the gate would pass every time. In CI that is refused, with how to fix it.
    folder = project(tmp_path / "p", champion="1", candidate="2")
    (folder / "modelci.yaml").write_text("version: 1\nregistry: {model_name: bc}\n")
    gitlab = make_project(folder, REPO / "gitlab-templates" / "compare.yml", {})

    run = run_pipeline(gitlab, [modelci_bin])

    assert not run.passed("modelci-compare")
    log = run.job_log("modelci-compare")
    assert "lives in the run folder" in log
    assert "MLFLOW_TRACKING_URI" in log and "registry.ephemeral: true" in log
