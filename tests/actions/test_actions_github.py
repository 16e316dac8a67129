"""The GitHub actions run for real (through tests/actions/ghrunner.py) on good and bad data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.actions.ghrunner import ActionRun, Runner
from tests.actions.harness import REPO

pytestmark = pytest.mark.actions

#: (action folder relative to the checkout, inputs that select the step)
ACTIONS = {
    "root": ("", {"step": "validate-data"}),
    "validate-data": ("actions/validate-data", {}),
}


def run_action(runner: Runner, checkout: Path, which: str, **inputs: str) -> ActionRun:
    folder, extra = ACTIONS[which]
    if which == "root":
        # the root action takes the step's arguments one per line, as on the command line
        kept = {k: v for k, v in inputs.items() if k in ("workdir", "config")}
        lines = [inputs["data"]] if "data" in inputs else []
        for key, value in inputs.items():
            if key not in ("data", "workdir", "config"):
                lines += [f"--{key}", value]
        inputs = {**kept, "args": "\n".join(lines)}
    return runner.run(checkout / folder, {**extra, **inputs})


@pytest.mark.parametrize("which", sorted(ACTIONS))
def test_passing_dataset(runner: Runner, action_checkout: Path, which: str) -> None:
    run = run_action(runner, action_checkout, which, data="good.csv", contract="contract.yml")

    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.conclusion == "success"
    assert run.outputs["passed"] == "true"
    assert run.outputs["rows"] == "5"
    assert run.outputs["digest"].startswith("sha256:")
    report = runner.workspace / run.outputs["report"]
    assert report == runner.workspace / ".modelci" / "validate-data" / "report.json"
    assert json.loads(report.read_text())["passed"] is True
    assert "## modelci validate-data" in run.summary
    assert "passed" in run.summary
    # the venv came from the session's tool cache, not a fresh install
    assert "reusing" in next(s for s in run.steps if s.id == "install").stdout
    assert run.annotations == []


@pytest.mark.parametrize("which", sorted(ACTIONS))
def test_failing_dataset(runner: Runner, action_checkout: Path, which: str) -> None:
    run = run_action(
        runner, action_checkout, which, data="bad.csv", contract="contract.yml", workdir="out"
    )

    assert run.exit_code == 1
    assert run.conclusion == "failure"
    assert run.failed_step is not None and run.failed_step.id.startswith("run")
    assert run.outputs["passed"] == "false"
    report = json.loads((runner.workspace / "out" / "validate-data" / "report.json").read_text())
    assert report["passed"] is False
    failed = {(c["column"], c["rule"]) for c in report["checks"] if not c["passed"]}
    assert failed == {("age", "max"), ("city", "allowed")}
    # annotations point at the offending lines of the file
    where = {(a.properties.get("file"), a.properties.get("line")) for a in run.annotations}
    assert ("bad.csv", "3") in where and ("bad.csv", "4") in where
    assert "failed" in run.summary and "Rome" in run.summary


def test_drift_outputs_with_reference(runner: Runner, action_checkout: Path) -> None:
    run = run_action(
        runner,
        action_checkout,
        "validate-data",
        data="good.csv",
        contract="contract.yml",
        reference="good.csv",
        **{"save-profile": "profile.json", "fail-on-drift": "true"},
    )

    assert run.exit_code == 0, run.stdout + run.stderr
    assert float(run.outputs["drift-share"]) == 0.0
    assert (runner.workspace / "profile.json").is_file()


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"format": "xlsx"}, "input 'format' must be one of auto, csv, parquet; got 'xlsx'"),
        ({"fail-on-drift": "yes"}, "input 'fail-on-drift' must be 'true' or 'false'; got 'yes'"),
        ({"delimiter": ";;"}, "input 'delimiter' must be exactly one character; got ';;'"),
        ({"python": "no-such-python"}, "input 'python': no interpreter 'no-such-python'"),
    ],
)
def test_bad_inputs_stop_before_install(
    runner: Runner, action_checkout: Path, inputs: dict[str, str], message: str
) -> None:
    run = run_action(runner, action_checkout, "validate-data", data="good.csv", **inputs)

    assert run.exit_code == 2
    assert run.failed_step is not None and run.failed_step.id == "setup"
    assert any(message in a.message for a in run.annotations), run.annotations
    assert [s.outcome for s in run.steps[1:]] == ["skipped"] * (len(run.steps) - 1)


@pytest.mark.parametrize("step", ["", "train-everything", "_shared", "../validate-data"])
def test_root_action_refuses_unknown_step(runner: Runner, action_checkout: Path, step: str) -> None:
    run = runner.run(action_checkout, {"step": step, "args": "good.csv"})

    assert run.exit_code == 2
    messages = " ".join(a.message for a in run.annotations)
    if step:
        steps = ", ".join(
            sorted(p.parent.name for p in action_checkout.glob("actions/*/action.yml"))
        )
        assert f"input 'step' must name a modelci step ({steps}); got '{step}'" in messages
    else:
        assert "input 'step' is required" in messages


@pytest.mark.slow
def test_install_reuses_healthy_env_and_rebuilds_broken_one(
    runner: Runner, action_checkout: Path, tmp_path: Path
) -> None:
    # A private tool cache, so breaking it does not disturb the session's shared one.
    private = Runner(runner.workspace, runner.temp, tmp_path / "cache", runner.base_env)
    shared_env = next(runner.tool_cache.glob("modelci/*/*/active")).resolve()
    folder = shared_env.parent.relative_to(runner.tool_cache)
    # Seed the private cache with a venv that answers the wrong version: it must be rebuilt...
    broken = private.tool_cache / folder / "env-broken"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "modelci").write_text("#!/bin/sh\necho 'modelci, version 0.0.0'\n")
    (broken / "bin" / "modelci").chmod(0o755)
    (private.tool_cache / folder / "active").symlink_to("env-broken")

    step_action = action_checkout / "actions" / "validate-data"
    inputs = {"data": "good.csv", "contract": "contract.yml"}
    run = private.run(step_action, inputs)

    assert run.exit_code == 0, run.stdout + run.stderr
    install = next(s for s in run.steps if s.id == "install")
    assert "installing from" in install.stdout
    active = (private.tool_cache / folder / "active").resolve()
    assert active.name != "env-broken" and (active / "bin" / "modelci").is_file()
    # ...and the next job reuses it.
    again = private.run(step_action, inputs)
    assert "reusing" in next(s for s in again.steps if s.id == "install").stdout
    shutil.rmtree(private.tool_cache)  # almost a gigabyte; pytest keeps old temp folders


def test_example_workflow_inputs_work(runner: Runner, action_checkout: Path) -> None:
    """The `with:` of examples/github/validate-data.yml, run on the example project."""
    workflow = yaml.safe_load((REPO / "examples" / "github" / "validate-data.yml").read_text())
    steps = workflow["jobs"]["validate-data"]["steps"]
    step = next(s for s in steps if s.get("uses") == "./actions/validate-data")
    shutil.copytree(REPO / "examples", runner.workspace / "examples")

    run = runner.run(action_checkout / "actions" / "validate-data", step["with"])

    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outputs["passed"] == "true"
    assert (runner.workspace / ".modelci" / "reference.mprof").is_file()
