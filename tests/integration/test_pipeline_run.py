"""`modelci pipeline` on the quickstart, as a GitHub pull-request job: every step goes through
the same tail as when it runs alone, so the pipeline comments on the pull request, writes
every declared output and nothing undeclared."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelci.generate.actions import COMMON_OUTPUTS
from modelci.steps import PIPELINE, STEPS
from tests.conftest import EXAMPLE
from tests.integration.test_comments_api import TOKEN, FakeForge, _github_env, _serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _blocks(text: str) -> list[dict[str, str]]:
    """Each step's outputs from a GITHUB_OUTPUT file (``name<<delimiter`` blocks, appended
    step after step; a step's outputs start with its ``passed``)."""
    steps: list[dict[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        name, _, delimiter = lines[i].partition("<<")
        end = lines.index(delimiter, i + 1)
        if name == "passed":
            steps.append({})
        steps[-1][name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return steps


def test_the_pipeline_comments_and_writes_exactly_the_declared_outputs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".modelci"))
    forge = FakeForge("github")
    served = _serve(forge)
    url = next(served)
    output = tmp_path / "github-output"
    output.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELCI_", "MLFLOW_"))}
    env.update(_github_env(url, tmp_path))
    env.update(
        {
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'registry.db'}",
            "MODELCI_HOME": str(tmp_path / "home"),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "modelci", "pipeline", str(project)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
    finally:
        next(served, None)
    assert done.returncode == 0, done.stderr[-3000:]

    posted = [payload for method, _, headers, payload in forge.requests if method == "POST"]
    assert len(posted) == 1, forge.requests
    assert "<!-- modelci:compare -->" in posted[0]["body"]
    assert all(h.get("authorization") == f"Bearer {TOKEN}" for _, _, h, _ in forge.requests)

    # sign has no signing method in the quickstart: skipped, it writes nothing
    ran = [name for name in PIPELINE if (tmp_path / ".modelci" / name / "report.json").exists()]
    assert [name for name in PIPELINE if name not in ran] == ["sign"]
    assert "SKIP  sign: no signing method" in done.stdout
    blocks = _blocks(output.read_text())
    for name, block in zip(ran, blocks, strict=True):
        declared = {o.name for o in (*COMMON_OUTPUTS, *STEPS[name].outputs)}
        assert set(block) == declared, name
    for name in ran:
        report = json.loads((tmp_path / ".modelci" / name / "report.json").read_text())
        declared = {o.name for o in (*COMMON_OUTPUTS, *STEPS[name].outputs)} - {"passed"}
        assert set(report["outputs"]) == declared, name
