"""CI adapters: show a step's result where the running CI system shows things.

The provider comes from :func:`modelci.cicontext.provider` (GitHub Actions, GitLab CI, else
local; ``MODELCI_CI=github|gitlab|local`` forces one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from modelci.ci.base import Adapter
from modelci.ci.github import GitHubAdapter
from modelci.ci.gitlab import GitLabAdapter
from modelci.ci.local import LocalAdapter
from modelci.cicontext import Provider, provider

__all__ = ["Adapter", "GitHubAdapter", "GitLabAdapter", "LocalAdapter", "adapter", "detect"]

ADAPTERS: dict[Provider, type[Adapter]] = {
    "github": GitHubAdapter,
    "gitlab": GitLabAdapter,
    "local": LocalAdapter,
}


def adapter(
    found: Provider, env: Mapping[str, str], stream: TextIO | None = None, *, verbose: bool = False
) -> Adapter:
    return ADAPTERS[found](env, stream, verbose=verbose)


def detect(env: Mapping[str, str] | None = None) -> Adapter:
    env = os.environ if env is None else env
    return adapter(provider(env), env)
