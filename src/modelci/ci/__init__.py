"""CI adapters: show a step's result where the running CI system shows things.

Detected from the environment: GitHub Actions (``GITHUB_ACTIONS=true``), GitLab CI
(``GITLAB_CI=true``), else local. ``MODELCI_CI=github|gitlab|local`` forces one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from modelci.ci.base import Adapter
from modelci.ci.github import GitHubAdapter
from modelci.ci.gitlab import GitLabAdapter
from modelci.ci.local import LocalAdapter
from modelci.errors import ConfigError

__all__ = ["Adapter", "GitHubAdapter", "GitLabAdapter", "LocalAdapter", "detect"]


def detect(env: Mapping[str, str] | None = None) -> Adapter:
    env = os.environ if env is None else env
    forced = env.get("MODELCI_CI", "").strip().lower()
    if forced:
        adapters = {"github": GitHubAdapter, "gitlab": GitLabAdapter, "local": LocalAdapter}
        if forced not in adapters:
            raise ConfigError(
                f"{forced!r} is not one of github, gitlab, local", source="MODELCI_CI"
            )
        return adapters[forced](env)
    if env.get("GITHUB_ACTIONS") == "true":
        return GitHubAdapter(env)
    if env.get("GITLAB_CI") == "true":
        return GitLabAdapter(env)
    return LocalAdapter(env)
