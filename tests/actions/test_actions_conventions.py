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
GEN_ROOT = REPO / "actions" / "_shared" / "gen_root_action.py"
GEN_DOCS = REPO / "docs" / "gen_action_docs.py"
PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _generator(script: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        check=False,
    )


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
    job = jobs[f"modelci-{step}"]
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


def test_root_action_is_generated_and_current() -> None:
    proc = _generator(GEN_ROOT, "--check")
    assert proc.returncode == 0, proc.stderr
    root = _load(REPO / "action.yml")
    union = {n for p in STEP_ACTIONS for n in (_load(p).get("inputs") or {})}
    assert set(root["inputs"]) == {"step"} | union


def test_docs_are_current() -> None:
    proc = _generator(GEN_DOCS, "--check")
    assert proc.returncode == 0, proc.stderr
    for path in STEP_ACTIONS:
        page = (REPO / "docs" / "actions" / f"{path.parent.name}.md").read_text()
        for name in _load(path).get("inputs") or {}:
            assert f"| `{name}` |" in page


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    for part in ("action.yml", "actions", "gitlab-templates", "examples", "docs/actions"):
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, tmp_path / part)
        else:
            (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp_path / part)
    return tmp_path


def test_checks_notice_a_changed_action(repo_copy: Path) -> None:
    action = repo_copy / "actions" / "validate-data" / "action.yml"
    action.write_text(action.read_text().replace("Dataset to validate", "Table to validate"))

    assert _generator(GEN_ROOT, "--check", "--root", repo_copy).returncode == 1
    assert _generator(GEN_DOCS, "--check", "--root", repo_copy).returncode == 1
    assert _generator(GEN_ROOT, "--root", repo_copy).returncode == 0
    assert _generator(GEN_DOCS, "--root", repo_copy).returncode == 0
    assert "Table to validate" in (repo_copy / "action.yml").read_text()
    assert "Table to validate" in (repo_copy / "docs" / "actions" / "validate-data.md").read_text()
    assert _generator(GEN_ROOT, "--check", "--root", repo_copy).returncode == 0


def test_generator_refuses_conflicting_defaults(repo_copy: Path) -> None:
    other = repo_copy / "actions" / "other"
    other.mkdir()
    data = _load(repo_copy / "actions" / "validate-data" / "action.yml")
    data["inputs"]["data"]["default"] = "elsewhere.csv"
    (other / "action.yml").write_text(yaml.safe_dump(data, sort_keys=False))

    proc = _generator(GEN_ROOT, "--root", repo_copy)

    assert proc.returncode == 2
    assert "input 'data' has default" in proc.stderr
