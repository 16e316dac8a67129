"""The GitLab templates compose the way users write pipelines (issue 10 §3), run for real in
gitlab-ci-local: validate-data, train and compare included into one pipeline run one after the
other, each job receiving the run folder of the job before it as an artifact; one template
included twice under two job prefixes gives two jobs.

GitLab's semantics of ``needs: optional: true`` when the needed job is not in the pipeline:
the job "can start when all other needs requirements are met", which with no other needs is
at once, without waiting for earlier stages (GitLab's needs documentation; gitlab-org/gitlab
issue 354849). So a template included without the modelci job before it starts with the
pipeline; a pipeline whose own jobs must come first says so by extending the job's ``needs:``
(tested below, and written in the templates' header and the README).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.actions.gitlabci import PipelineRun, run_pipeline
from tests.actions.harness import REPO, git, write_project
from tests.conftest import EXAMPLE

pytestmark = [pytest.mark.actions, pytest.mark.usefixtures("clean_env")]

TEMPLATES = REPO / "gitlab-templates"


def _pipeline(
    folder: Path, includes: list[dict[str, Any]], extra: dict[str, Any] | None = None
) -> Path:
    """A git project whose .gitlab-ci.yml includes copies of the templates with inputs."""
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    for template in TEMPLATES.glob("*.yml"):
        shutil.copy2(template, folder / "templates" / template.name)
    config: dict[str, Any] = {"include": includes, **(extra or {})}
    (folder / ".gitlab-ci.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    return folder


def _order(run: PipelineRun, *jobs: str) -> None:
    """Each job started only after the one before it finished."""
    text = run.output
    for before, after in itertools.pairwise(jobs):
        finished = re.search(rf"^{re.escape(before)}\s+finished in", text, re.M)
        started = re.search(rf"^{re.escape(after)}\s+starting", text, re.M)
        assert finished and started, text
        assert finished.start() < started.start(), f"{after} started before {before} finished"


@pytest.mark.slow
def test_validate_train_compare_run_in_order_passing_the_run_folder(
    tmp_path: Path, modelci_bin: Path
) -> None:
    folder = tmp_path / "p"
    shutil.copytree(EXAMPLE, folder)
    config = (folder / "modelci.yaml").read_text()
    # the registry travels with the run folder here (no MLflow server in this test)
    config = config.replace(
        "  model_name: breast-cancer\n", "  model_name: breast-cancer\n  ephemeral: true\n"
    )
    assert "ephemeral" in config
    (folder / "modelci.yaml").write_text(config)
    _pipeline(
        folder,
        [
            {"local": "templates/validate-data.yml"},
            {"local": "templates/train.yml", "inputs": {"cv-folds": "0"}},
            {"local": "templates/compare.yml", "inputs": {"resamples": "200"}},
        ],
    )

    run = run_pipeline(folder, [modelci_bin], timeout=900)

    jobs = ("modelci-validate-data", "modelci-train", "modelci-compare")
    for job in jobs:
        assert run.passed(job), run.output
    _order(run, *jobs)
    # train found validate-data's entry in the run folder it received ...
    train = run.artifacts("modelci-train") / ".modelci"
    report = json.loads((train / "train" / "report.json").read_text())
    same = [c for c in report["checks"] if c["rule"] == "same data as validate-data"]
    assert same and same[0]["passed"] is True, report["checks"]
    # ... and compare judged the candidate train registered in the store it received
    compared = run.artifacts("modelci-compare") / ".modelci"
    manifest = json.loads((compared / "manifest.json").read_text())
    assert set(manifest["steps"]) == {"validate-data", "train", "compare"}
    decision = json.loads((compared / "compare" / "decision.json").read_text())
    assert decision["candidate"]["version"] == manifest["train"]["model_version"] == "1"


def test_one_template_twice_under_two_prefixes(tmp_path: Path, modelci_bin: Path) -> None:
    folder = write_project(tmp_path / "p")
    _pipeline(
        folder,
        [
            {
                "local": "templates/validate-data.yml",
                "inputs": {
                    "job-prefix": "churn-",
                    "data": "good.csv",
                    "contract": "contract.yml",
                    "workdir": ".modelci-churn",
                },
            },
            {
                "local": "templates/validate-data.yml",
                "inputs": {
                    "job-prefix": "fraud-",
                    "data": "bad.csv",
                    "contract": "contract.yml",
                    "workdir": ".modelci-fraud",
                },
            },
        ],
    )

    run = run_pipeline(folder, [modelci_bin])

    assert run.passed("churn-modelci-validate-data"), run.output
    assert run.failed("fraud-modelci-validate-data"), run.output
    churn = run.artifacts("churn-modelci-validate-data") / ".modelci-churn" / "validate-data"
    fraud = run.artifacts("fraud-modelci-validate-data") / ".modelci-fraud" / "validate-data"
    assert json.loads((churn / "report.json").read_text())["passed"] is True
    assert json.loads((fraud / "report.json").read_text())["passed"] is False


def test_a_prefixed_chain_waits_for_its_own_jobs(tmp_path: Path, modelci_bin: Path) -> None:
    """Two models' chains side by side: each train needs its own validate-data."""
    folder = write_project(tmp_path / "p")
    for name in ("a", "b"):
        (folder / f"{name}.yaml").write_text(
            f"version: 1\nworkdir: .modelci-{name}\ndata: {{path: good.csv}}\n"
            "contract: contract.yml\n"
        )
    includes: list[dict[str, Any]] = []
    for name in ("a", "b"):
        inputs = {"job-prefix": f"{name}-", "config": f"{name}.yaml", "workdir": f".modelci-{name}"}
        includes.append({"local": "templates/validate-data.yml", "inputs": inputs})
        # train's job is replaced by a stand-in (no model here): it shows what it received
        includes.append({"local": "templates/train.yml", "inputs": inputs})
    stand_in = {
        f"{name}-modelci-train": {"script": [f"cat .modelci-{name}/manifest.json"]}
        for name in ("a", "b")
    }
    _pipeline(folder, includes, stand_in)

    run = run_pipeline(folder, [modelci_bin])

    for name in ("a", "b"):
        assert run.passed(f"{name}-modelci-train"), run.output
        _order(run, f"{name}-modelci-validate-data", f"{name}-modelci-train")
        log = run.job_log(f"{name}-modelci-train")
        assert '"validate-data"' in log  # its own validate-data's run folder arrived


def test_extending_needs_makes_a_template_wait_for_the_users_own_job(
    tmp_path: Path, modelci_bin: Path
) -> None:
    """What the templates' header tells users whose own jobs must run first."""
    folder = write_project(tmp_path / "p")
    (folder / "good.csv").rename(folder / "later.csv")
    extra = {
        "stages": ["build", "test"],
        "prepare-data": {
            "stage": "build",
            "script": ["cp later.csv good.csv"],
            "artifacts": {"paths": ["good.csv"]},
        },
        "modelci-train": {
            "needs": [
                "prepare-data",
                {"job": "modelci-validate-data", "optional": True},
            ],
            "script": ["ls good.csv"],
        },
        "modelci-validate-data": {"needs": ["prepare-data"]},
    }
    _pipeline(
        folder,
        [
            {
                "local": "templates/validate-data.yml",
                "inputs": {"data": "good.csv", "contract": "contract.yml"},
            },
            {"local": "templates/train.yml"},
        ],
        extra,
    )

    run = run_pipeline(folder, [modelci_bin])

    assert run.passed("modelci-validate-data"), run.output
    _order(run, "prepare-data", "modelci-validate-data", "modelci-train")
