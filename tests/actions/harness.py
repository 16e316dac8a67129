"""Helpers shared by the action and template tests: the tiny project, a clean environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_BIN = REPO / ".ci" / "node_modules" / ".bin"

#: variables of an outer CI (or of a developer's shell) that would leak into the runs
_LEAKY = (
    "GITHUB_",
    "GITLAB_",
    "CI_",
    "MODELCI_",
    "RUNNER_",
    "ACTIONS_",
    "INPUT_",
    "GCL_",
    "MLFLOW_",
)

CONTRACT = """\
version: 1
columns:
  age: {dtype: integer, min: 0, max: 120, nullable: false}
  city: {dtype: string, allowed: [Paris, Oslo]}
"""
GOOD_CSV = "age,city\n34,Paris\n51,Oslo\n27,Paris\n63,Oslo\n45,Paris\n"
#: age 150 breaks max; Rome is not an allowed city
BAD_CSV = "age,city\n34,Paris\n150,Oslo\n27,Rome\n63,Oslo\n45,Paris\n"


def clean_env() -> dict[str, str]:
    """This machine's environment without anything that would make a run think it is CI."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_LEAKY) and k not in {"CI", "GITLAB_CI", "VIRTUAL_ENV"}
    }


def write_project(folder: Path) -> Path:
    """A tiny project: contract.yml, good.csv (passes) and bad.csv (breaks the contract)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "contract.yml").write_text(CONTRACT)
    (folder / "good.csv").write_text(GOOD_CSV)
    (folder / "bad.csv").write_text(BAD_CSV)
    return folder


def node_tool(name: str) -> Path:
    path = NODE_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `npm ci --prefix .ci` (.ci/install-and-test does)")
    return path


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
