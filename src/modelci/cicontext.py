"""Where a step runs: the CI system, the commit, branch and run, and who started it.

One detection for every step and adapter (``MODELCI_CI=github|gitlab|local`` forces the
provider; templates set it because gitlab-ci-local does not say GITLAB_CI=true), and one
set of names for these facts wherever they are recorded (see :mod:`modelci.registry.tags`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from modelci.errors import ConfigError

Provider = Literal["github", "gitlab", "local"]
PROVIDERS: tuple[Provider, ...] = ("github", "gitlab", "local")


@dataclass(frozen=True)
class CIContext:
    provider: Provider
    #: True in any CI job, also one we have no adapter for (``CI=true``: Jenkins, CircleCI...)
    in_ci: bool
    commit: str | None = None
    branch: str | None = None
    #: the page of this CI run or job
    run_url: str | None = None
    actor: str | None = None
    #: the repository the pipeline runs for, as a URL when known
    repository: str | None = None
    #: the workflow or template that runs the job (a builder id for provenance)
    workflow: str | None = None

    @property
    def tags(self) -> dict[str, str]:
        """The CI facts as MLflow tags, under the one set of names (empty values left out)."""
        from modelci.registry import tags

        found = {
            tags.GIT_COMMIT: self.commit,
            tags.GIT_BRANCH: self.branch,
            tags.CI_RUN_URL: self.run_url,
            tags.CI_PROVIDER: self.provider,
            tags.CI_ACTOR: self.actor,
        }
        return {k: v for k, v in found.items() if v}


def provider(env: Mapping[str, str]) -> Provider:
    forced = env.get("MODELCI_CI", "").strip().lower()
    if forced:
        for known in PROVIDERS:
            if forced == known:
                return known
        raise ConfigError(f"{forced!r} is not one of github, gitlab, local", source="MODELCI_CI")
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    return "local"


def detect(env: Mapping[str, str], cwd: Path | None = None) -> CIContext:
    """The CI context from the CI system's variables, else from the local checkout."""
    found = provider(env)
    in_ci = found != "local" or env.get("CI", "").strip().lower() in ("true", "1", "yes")
    commit = branch = run_url = actor = repository = workflow = None
    if found == "github":
        commit = env.get("GITHUB_SHA")
        branch = env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME")
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        repo, run = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
        if repo:
            repository = f"{server}/{repo}"
            if run:
                run_url = f"{repository}/actions/runs/{run}"
                if attempt := env.get("GITHUB_RUN_ATTEMPT"):
                    run_url += f"/attempts/{attempt}"
        actor = env.get("GITHUB_ACTOR")
        if ref := env.get("GITHUB_WORKFLOW_REF"):
            workflow = f"{server}/{ref}"
    elif found == "gitlab":
        commit = env.get("CI_COMMIT_SHA")
        branch = env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or env.get("CI_COMMIT_REF_NAME")
        run_url = env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL")
        actor = env.get("GITLAB_USER_LOGIN")
        repository = env.get("CI_PROJECT_URL")
        if repository and env.get("CI_CONFIG_PATH"):
            workflow = f"{repository}/-/blob/{commit or 'HEAD'}/{env['CI_CONFIG_PATH']}"
    where = cwd or Path.cwd()
    commit = commit or git(where, "rev-parse", "HEAD")
    branch = branch or git(where, "symbolic-ref", "--short", "HEAD")
    actor = actor or env.get("USER") or env.get("USERNAME") or os.getenv("USER")
    return CIContext(found, in_ci, commit, branch, run_url, actor, repository, workflow)


def git(cwd: Path, *args: str) -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None
