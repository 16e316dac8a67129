"""Run a GitLab CI template through gitlab-ci-local, as a project that includes it would.

The project is a fresh git repository whose ``.gitlab-ci.yml`` includes a copy of the
template with ``include: - local: ... inputs: {...}``. Jobs run with the shell executor
(``--force-shell-executor``: the template's ``image:`` cannot be pulled here) and
``--shell-isolation``, so each job runs in its own copy of the project and its artifacts
land in ``.gitlab-ci-local/artifacts/<job>/`` as on a real runner.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.actions.harness import clean_env, git, node_tool

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class PipelineRun:
    returncode: int
    output: str
    project: Path

    def artifacts(self, job: str) -> Path:
        return self.project / ".gitlab-ci-local" / "artifacts" / job

    def job_log(self, job: str) -> str:
        path = self.project / ".gitlab-ci-local" / "output" / f"{job}.log"
        return _ANSI.sub("", path.read_text()) if path.exists() else ""

    def exit_code(self, job: str) -> int | None:
        """The job's script exit code as gitlab-ci-local reports it (0 when it passed)."""
        if self.passed(job):
            return 0
        m = re.search(rf"^{re.escape(job)} finished in .*FAIL (\d+)", self.output, re.M)
        return int(m.group(1)) if m else None

    def passed(self, job: str) -> bool:
        return re.search(rf"^\s*PASS\s+{re.escape(job)}\s*$", self.output, re.M) is not None

    def failed(self, job: str) -> bool:
        return re.search(rf"^\s*FAIL\s+{re.escape(job)}\b", self.output, re.M) is not None


def make_project(folder: Path, template: Path, inputs: Mapping[str, str]) -> Path:
    """A git project (in ``folder``, which may already hold data files) including the template."""
    return make_project_with(folder, [(template, inputs)])


def make_project_with(folder: Path, includes: Sequence[tuple[Path, Mapping[str, str]]]) -> Path:
    """A git project (in ``folder``) including several templates, each with its inputs, as
    one pipeline that chains steps would."""
    folder.mkdir(parents=True, exist_ok=True)
    include = []
    for template, inputs in includes:
        copied = folder / "templates" / template.name
        copied.parent.mkdir(exist_ok=True)
        shutil.copy2(template, copied)
        include.append({"local": f"templates/{template.name}", "inputs": dict(inputs)})
    (folder / ".gitlab-ci.yml").write_text(yaml.safe_dump({"include": include}, sort_keys=False))
    git(folder, "init", "-q", "-b", "main")
    git(folder, "remote", "add", "origin", "https://gitlab.example.com/group/project.git")
    git(folder, "add", "-A")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    return folder


def run_pipeline(
    project: Path,
    path_prefix: list[Path] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    schema_validation: bool = True,
    timeout: float = 300,
    args: tuple[str, ...] = (),
    variables: Mapping[str, str] | None = None,
) -> PipelineRun:
    """Run the project's pipeline (``args``: more gitlab-ci-local options). ``variables``
    reach every job as CI/CD variables set in the project's settings would (``--variable``),
    never through a file of the project."""
    base = {**clean_env(), **(env or {})}
    if path_prefix:
        base["PATH"] = ":".join([*(str(p) for p in path_prefix), base.get("PATH", "")])
    home = project.parent / f"{project.name}-gcl-home"
    home.mkdir(exist_ok=True)
    base["HOME"] = str(home)
    proc = subprocess.run(
        [
            str(node_tool("gitlab-ci-local")),
            "--home",
            str(home),
            "--force-shell-executor",
            "--shell-isolation",
            "--no-color",
            "--timestamps=false",
            f"--json-schema-validation={str(schema_validation).lower()}",
            *args,
            *(f"--variable={name}={value}" for name, value in (variables or {}).items()),
        ],
        cwd=project,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return PipelineRun(proc.returncode, _ANSI.sub("", proc.stdout + proc.stderr), project)
