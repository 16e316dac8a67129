"""Each declared input reaches every surface, and a bad value's message names the surface the
user typed it in: the flag, the variable, the action input or the template input."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelci.inputs import Input
from modelci.step import StepSpec
from modelci.steps import STEPS
from tests.conftest import REPO, CliRunner

BAD: dict[str, str] = {
    "integer": "twelve",
    "number": "lots",
    "choice": "bogus",
    "boolean": "maybe",
    "char": "ab",
    "object": "[1, 2]",
}


def _checked() -> list[tuple[StepSpec, Input]]:
    return [
        (spec, item)
        for spec in STEPS.values()
        for item in spec.inputs
        if item.key is not None and item.kind in BAD
    ]


CHECKED = _checked()
IDS = [f"{spec.name}-{item.name}" for spec, item in CHECKED]


def test_every_kind_of_input_is_covered() -> None:
    assert {item.kind for _, item in CHECKED} == set(BAD)


@pytest.mark.parametrize(("spec", "item"), CHECKED, ids=IDS)
def test_a_bad_flag_value_names_the_flag(
    spec: StepSpec, item: Input, run_cli: CliRunner, in_tmp: Path
) -> None:
    if item.kind == "boolean" or not item.cli:
        pytest.skip("a boolean flag takes no value")
    result = run_cli(spec.name, item.flag, BAD[item.kind])
    assert result.code == 2, result.err
    assert item.flag in result.err
    assert result.err.count("\n") == 1


@pytest.mark.parametrize(("spec", "item"), CHECKED, ids=IDS)
def test_a_bad_variable_value_names_the_variable(
    spec: StepSpec, item: Input, run_cli: CliRunner, in_tmp: Path
) -> None:
    result = run_cli(spec.name, env={item.variable: BAD[item.kind]})
    assert result.code == 2, result.err
    assert item.variable in result.err


@pytest.mark.parametrize(("spec", "item"), CHECKED, ids=IDS)
def test_a_bad_action_input_names_the_input(spec: StepSpec, item: Input, tmp_path: Path) -> None:
    action = yaml.safe_load((REPO / "actions" / spec.name / "action.yml").read_text())
    setup = action["runs"]["steps"][0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    env["INPUT_" + item.name.upper().replace("-", "_")] = BAD[item.kind]
    env["GITHUB_OUTPUT"] = str(tmp_path / "out")
    env["GITHUB_ACTION_PATH"] = str(REPO / "actions" / spec.name)
    done = subprocess.run(
        ["bash", "-c", setup["run"]], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"input '{item.name}'" in done.stdout


@pytest.mark.parametrize(("spec", "item"), CHECKED, ids=IDS)
def test_a_bad_template_input_is_refused_by_gitlab(spec: StepSpec, item: Input) -> None:
    header = next(yaml.safe_load_all((REPO / "gitlab-templates" / f"{spec.name}.yml").read_text()))
    node: dict[str, Any] = header["spec"]["inputs"][item.name]
    bad = BAD[item.kind]
    if item.kind == "object":
        pytest.skip("GitLab has no JSON check: modelci names the variable (tested above)")
    if "options" in node:
        assert bad not in node["options"]
        assert "" in node["options"]  # empty means "not given"
    else:
        assert re.fullmatch(node["regex"], bad) is None
        assert re.fullmatch(node["regex"], "") is not None


def test_flags_and_settings_cannot_drift_apart() -> None:
    """Every input names a real setting, and its flag, variable and keyword follow its name."""
    from modelci.config import schema_at

    for spec in STEPS.values():
        names = [item.name for item in spec.inputs]
        assert len(names) == len(set(names)), spec.name
        for item in spec.inputs:
            assert re.fullmatch(r"[a-z][a-z0-9-]*", item.name)
            if item.key is not None:
                assert schema_at(item.key) is not None, f"{spec.name}: {item.key}"
                assert item.variable == "MODELCI_" + item.key.upper().replace(".", "__")


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("train", "--cv-folds", "-1"), "--cv-folds"),
        (("promote", "--model-name", ""), "--model-name"),
    ],
)
def test_the_messages_that_named_the_wrong_flag(
    run_cli: CliRunner, in_tmp: Path, args: tuple[str, ...], flag: str
) -> None:
    result = run_cli(*args)
    assert result.code == 2
    assert result.err.startswith(f"modelci: error: {flag}:"), result.err
