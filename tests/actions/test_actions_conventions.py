"""The action and template conventions of DESIGN.md hold for every file, current and future.

Also: the generated root action.yml and docs/actions/*.md are up to date.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.actions.harness import REPO

STEP_ACTIONS = sorted((REPO / "actions").glob("*/action.yml"))
ALL_ACTIONS = [REPO / "action.yml", *STEP_ACTIONS]
TEMPLATES = sorted((REPO / "gitlab-templates").glob("*.yml"))
PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("path", ALL_ACTIONS, ids=_ids(ALL_ACTIONS))
def test_no_expression_inside_run(path: Path) -> None:
    for step in _load(path)["runs"]["steps"]:
        assert "${{" not in str(step.get("run", "")), f"{path}: step {step.get('id')}"


@pytest.mark.parametrize("path", ALL_ACTIONS, ids=_ids(ALL_ACTIONS))
def test_every_input_is_used_and_checked_first(path: Path) -> None:
    action = _load(path)
    steps = action["runs"]["steps"]
    text = yaml.safe_dump(steps)
    for name in action.get("inputs") or {}:
        assert f"inputs.{name} " in text or f"inputs.{name}}}" in text, f"input {name} unused"
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name), f"input {name} is not kebab-case"
    assert steps[0]["id"] == "setup" and "_shared/setup.sh" in steps[0]["run"]
    for output in action.get("outputs") or {}:
        assert re.fullmatch(r"[a-z][a-z0-9-]*", output)


@pytest.mark.parametrize("path", ALL_ACTIONS, ids=_ids(ALL_ACTIONS))
def test_uses_are_pinned_to_full_commit_shas(path: Path) -> None:
    for step in _load(path)["runs"]["steps"]:
        if "uses" in step:
            assert PIN.match(step["uses"]), step["uses"]


@pytest.mark.parametrize("path", TEMPLATES, ids=_ids(TEMPLATES))
def test_template_conventions(path: Path) -> None:
    header, jobs = list(yaml.safe_load_all(path.read_text()))
    inputs = header["spec"]["inputs"]
    assert {"stage", "image", "modelci-version"} <= set(inputs)
    step = path.stem
    job = jobs[f"$[[ inputs.job-prefix ]]modelci-{step}"]
    script = "\n".join(job["script"])
    assert "$[[" not in script, "inputs reach the script only as variables"
    for name, variable in job["variables"].items():
        if isinstance(variable, dict):
            assert variable.get("expand") is False, f"{name}: expand: false"
        else:
            assert "$[[" not in str(variable), f"{name} takes an input without expand: false"
    used = yaml.safe_dump(jobs)
    for name in inputs:
        assert f"$[[ inputs.{name} ]]" in used, f"input {name} unused"
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert {"junit", "dotenv", "metrics"} <= set(artifacts["reports"])


def test_template_version_matches_the_package() -> None:
    import tomllib

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    for path in TEMPLATES:
        header = next(yaml.safe_load_all(path.read_text()))
        assert str(header["spec"]["inputs"]["modelci-version"]["default"]) == version, path


def test_generated_files_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "modelci.generate", "--check"],
        capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_root_action_stays_small_and_declares_every_output() -> None:
    root = _load(REPO / "action.yml")
    assert set(root["inputs"]) == {"step", "args", "config", "workdir", "python"}
    union = {n for p in STEP_ACTIONS for n in (_load(p).get("outputs") or {})}
    assert set(root["outputs"]) == union


def test_docs_list_every_input() -> None:
    for path in STEP_ACTIONS:
        page = (REPO / "docs" / "actions" / f"{path.parent.name}.md").read_text()
        for name in _load(path).get("inputs") or {}:
            assert f"| `{name}` |" in page


def test_a_hand_edit_of_a_generated_file_is_noticed(tmp_path: Path) -> None:
    for part in ("action.yml", "actions", "gitlab-templates", "examples", "docs", "src"):
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, tmp_path / part)
    action = tmp_path / "actions" / "validate-data" / "action.yml"
    action.write_text(action.read_text().replace("Dataset to validate", "Table to validate"))
    generate = [sys.executable, "-m", "modelci.generate", "--root", str(tmp_path)]

    stale = subprocess.run([*generate, "--check"], capture_output=True, text=True, check=False)
    assert stale.returncode == 1
    assert "stale: actions/validate-data/action.yml" in stale.stderr
    assert subprocess.run(generate, capture_output=True, check=False).returncode == 0
    assert "Dataset to validate" in action.read_text()
    assert subprocess.run([*generate, "--check"], capture_output=True, check=False).returncode == 0
