"""The GitLab template runs for real through gitlab-ci-local, included with inputs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.actions.gitlabci import make_project, run_pipeline
from tests.actions.harness import REPO, git, write_project
from tests.unit.sign_support import write_key, write_public_key

pytestmark = pytest.mark.actions

TEMPLATE = REPO / "gitlab-templates" / "validate-data.yml"
JOB = "modelci-validate-data"


def test_passing_dataset(tmp_path: Path, modelci_bin: Path) -> None:
    project = make_project(
        write_project(tmp_path / "p"), TEMPLATE, {"data": "good.csv", "contract": "contract.yml"}
    )

    run = run_pipeline(project, [modelci_bin])

    assert run.returncode == 0, run.output
    assert run.passed(JOB) and run.exit_code(JOB) == 0
    assert f"modelci 0.1.0: using {modelci_bin}/modelci" in run.job_log(JOB)
    folder = run.artifacts(JOB) / ".modelci" / "validate-data"
    assert json.loads((folder / "report.json").read_text())["passed"] is True
    assert 'failures="0"' in (folder / "junit.xml").read_text()
    dotenv = (folder / "outputs.env").read_text().splitlines()
    assert "MODELCI_VALIDATE_DATA_PASSED=true" in dotenv
    assert "MODELCI_VALIDATE_DATA_ROWS=5" in dotenv
    assert "modelci_validate_data_rows 5" in (folder / "metrics.txt").read_text()
    # gitlab-ci-local collected the dotenv report from the path the template declares
    reports = run.artifacts(JOB) / ".gitlab-ci-reports" / "dotenv" / ".modelci" / "validate-data"
    assert (reports / "outputs.env").read_text() == (folder / "outputs.env").read_text()
    assert (run.artifacts(JOB) / ".modelci" / "manifest.json").is_file()


def test_failing_dataset(tmp_path: Path, modelci_bin: Path) -> None:
    project = make_project(
        write_project(tmp_path / "p"),
        TEMPLATE,
        {"data": "bad.csv", "contract": "contract.yml", "workdir": "run/folder"},
    )

    run = run_pipeline(project, [modelci_bin])

    assert run.failed(JOB) and run.exit_code(JOB) == 1, run.output
    # artifacts are kept when the job fails (when: always), in the chosen workdir
    folder = run.artifacts(JOB) / "run" / "folder" / "validate-data"
    report = json.loads((folder / "report.json").read_text())
    failed = {(c["column"], c["rule"]) for c in report["checks"] if not c["passed"]}
    assert failed == {("age", "max"), ("city", "allowed")}
    junit = (folder / "junit.xml").read_text()
    assert 'failures="2"' in junit and "Rome" in junit
    assert "MODELCI_VALIDATE_DATA_PASSED=false" in (folder / "outputs.env").read_text()
    assert "2 failed (age: max, city: allowed)" in run.output


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"format": "xlsx"}, "`format` input: `xlsx` cannot be used because it is not in the list"),
        ({"fail-on-drift": "yes"}, "`fail-on-drift` input: `yes` cannot be used because"),
        ({"delimiter": ";;"}, "`delimiter` input: `;;` does not match required regex"),
        ({"workdir": "/etc"}, "`workdir` input: `/etc` does not match required regex"),
        ({"workdir": "-x"}, "`workdir` input: `-x` does not match required regex"),
        ({"modelci-version": "latest"}, "`modelci-version` input: `latest` does not match"),
    ],
)
def test_gitlab_enforces_input_options_and_regex(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    project = make_project(write_project(tmp_path / "p"), TEMPLATE, {"data": "good.csv", **inputs})

    run = run_pipeline(project, schema_validation=False)

    assert run.returncode != 0
    assert message in " ".join(run.output.split()), run.output
    assert not run.passed(JOB) and not run.failed(JOB)  # refused before any job ran


def test_installed_modelci_of_another_version_is_not_reused(
    tmp_path: Path, modelci_bin: Path
) -> None:
    project = make_project(
        write_project(tmp_path / "p"),
        TEMPLATE,
        {"data": "good.csv", "modelci-version": "9.9.9", "modelci-source": "./no-such-folder"},
    )

    run = run_pipeline(project, [modelci_bin])

    assert run.failed(JOB)
    log = run.job_log(JOB)
    assert "using" not in log
    assert "./no-such-folder" in log  # pip was asked for modelci-source instead


@pytest.mark.slow
def test_installs_modelci_from_source_when_none_on_path(
    tmp_path: Path, action_checkout: Path
) -> None:
    # A copy of the source of its own: pip builds in the source tree.
    source = tmp_path / "modelci-src"
    shutil.copytree(action_checkout, source)
    project = make_project(
        write_project(tmp_path / "p"),
        TEMPLATE,
        {"data": "good.csv", "contract": "contract.yml", "modelci-source": str(source)},
    )
    # No modelci anywhere on PATH: the job installs one into its build folder.
    path = [d for d in os.environ["PATH"].split(":") if d and not (Path(d) / "modelci").exists()]

    run = run_pipeline(project, env={"PATH": ":".join(path)}, timeout=600)

    assert run.passed(JOB), run.output
    assert "modelci 0.1.0: using" not in run.job_log(JOB)
    # the job's venv (about a gigabyte with every extra) is gone when the job ends
    builds = project / ".gitlab-ci-local" / "builds"
    assert not list(builds.glob("*/.modelci-venv")), "the job left its venv behind"
    assert (
        json.loads((run.artifacts(JOB) / ".modelci" / "validate-data" / "report.json").read_text())[
            "passed"
        ]
        is True
    )


@pytest.mark.slow
def test_example_pipeline_runs(tmp_path: Path, modelci_bin: Path) -> None:
    """examples/gitlab/.gitlab-ci.yml, as committed: validate, train, compare, scan, sign,
    sbom, provenance, verify and (started by hand, as the rules say) promote the quickstart
    model, against a registry that outlives the jobs (the CI/CD variable MLFLOW_TRACKING_URI;
    a sqlite store outside the project stands in for the team's MLflow server), signed with a
    key pair given as the CI/CD variables the example's header names."""
    project = tmp_path / "repo"
    for part in ("gitlab-templates", "examples"):
        shutil.copytree(REPO / part, project / part)
    shutil.copy2(project / "examples" / "gitlab" / ".gitlab-ci.yml", project / ".gitlab-ci.yml")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    registry = tmp_path / "registry" / "mlflow.db"
    registry.parent.mkdir()
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{registry}"}
    password = "canary-4d2a9b-Pa55"
    (tmp_path / "keys").mkdir()
    private, public = tmp_path / "keys" / "signing.pem", tmp_path / "keys" / "signing.pub"
    write_public_key(public, write_key(private, password=password))

    run = run_pipeline(
        project,
        [modelci_bin],
        env=env,
        timeout=1200,
        args=("--manual", "modelci-promote"),
        variables={
            "MODELCI_SIGN__PRIVATE_KEY": str(private),
            "MODELCI_SIGNING_KEY_PASSWORD": password,
            "MODELCI_VERIFY__PUBLIC_KEY": str(public),
        },
    )

    steps = ("validate-data", "train", "compare", "scan", "sign", "sbom", "provenance", "verify",
             "promote")  # fmt: skip
    for step in steps:
        assert run.passed(f"modelci-{step}"), run.output
    folder = run.artifacts("modelci-validate-data") / ".modelci"
    assert json.loads((folder / "validate-data" / "report.json").read_text())["passed"] is True
    assert (folder / "reference.mprof").is_file()
    promoted = run.artifacts("modelci-promote") / ".modelci"
    manifest = json.loads((promoted / "manifest.json").read_text())
    assert set(manifest["steps"]) == set(steps)
    log = run.job_log("modelci-promote")
    assert "breast-cancer@champion" in log
    assert password not in run.output


def test_example_pipeline_retrains_on_a_schedule_and_promotes_by_hand() -> None:
    """The example's rules: schedules and web pipelines retrain; promote waits for a person
    and runs on the default branch only."""
    import yaml

    config = yaml.safe_load((REPO / "examples" / "gitlab" / ".gitlab-ci.yml").read_text())
    for job in ("modelci-train", "modelci-compare", "modelci-scan", "modelci-sign"):
        conditions = " ".join(r["if"] for r in config[job]["rules"])
        assert '"schedule"' in conditions and '"web"' in conditions
    [promote] = config["modelci-promote"]["rules"]
    assert promote == {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "when": "manual"}
