"""The GitLab templates used from a separate consumer repository, the way the README says:
``include: remote:`` of a template at a commit of the modelci repository, and modelci
installed by the job from that repository (issue 10 §3).

Nothing is published to a package index, so the templates' default ``modelci-source`` is the
modelci repository itself, at the tag of the template's version
(``git+https://github.com/modelci/modelci@v0.1.0``); the README pins it to the same commit as
the include. Here the "published" repository is a git repository served on 127.0.0.1 (git's
dumb HTTP protocol, raw files beside it as raw.githubusercontent.com serves them), and the
runner's git maps ``https://github.com/modelci/modelci`` there with ``url.<base>.insteadOf``,
the way a runner behind a mirror is configured. The templates are included unchanged, with
the default source: no network but the package registries pip installs dependencies from.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from modelci import __version__
from modelci.generate.templates import REPOSITORY
from tests.actions.gitlabci import run_pipeline
from tests.actions.harness import REPO, git, write_project

pytestmark = [pytest.mark.actions, pytest.mark.slow, pytest.mark.usefixtures("clean_env")]

#: what a release of the repository holds that a job's install needs, and the templates
_PUBLISHED = ("pyproject.toml", "README.md", "src", "gitlab-templates")


@dataclass
class Published:
    """The modelci repository as a consumer reaches it: its commit, tag and URLs."""

    commit: str
    raw: str  # like https://raw.githubusercontent.com/modelci/modelci
    git_env: dict[str, str]  # the runner's git configuration mapping REPOSITORY here
    requests: list[str]  # the paths asked of the server


def _commit(source: Path) -> str:
    git(source, "init", "-q", "-b", "main")
    git(source, "add", "-A")
    git(source, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "release")
    git(source, "tag", f"v{__version__}")
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def published(tmp_path: Path) -> Iterator[Published]:
    source = tmp_path / "modelci"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for part in _PUBLISHED:
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, source / part, ignore=ignore)
        else:
            shutil.copy2(REPO / part, source / part)
    commit = _commit(source)
    served = tmp_path / "served"
    bare = served / "modelci" / "modelci.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)  # dumb HTTP
    raw = served / "raw" / "modelci" / "modelci" / commit / "gitlab-templates"
    shutil.copytree(source / "gitlab-templates", raw)

    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served))
    )
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Published(
            commit,
            f"{base}/raw/modelci/modelci",
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"url.{base}/modelci/modelci.git.insteadOf",
                "GIT_CONFIG_VALUE_0": REPOSITORY,
                "NO_PROXY": "127.0.0.1",
                "no_proxy": "127.0.0.1",
            },
            requests,
        )
    finally:
        server.shutdown()
        server.server_close()


def _consumer(folder: Path, includes: list[dict[str, object]]) -> Path:
    write_project(folder)
    (folder / ".gitlab-ci.yml").write_text(yaml.safe_dump({"include": includes}, sort_keys=False))
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    return folder


def _without_modelci() -> str:
    return ":".join(
        d for d in os.environ["PATH"].split(":") if d and not (Path(d) / "modelci").exists()
    )


def test_a_consumer_repository_includes_the_templates_as_the_readme_says(
    tmp_path: Path, published: Published
) -> None:
    template = f"{published.raw}/{published.commit}/gitlab-templates/validate-data.yml"
    inputs = {"data": "good.csv", "contract": "contract.yml"}
    consumer = _consumer(
        tmp_path / "consumer",
        [
            # the README's way: the include and the install pinned to one commit
            {"remote": template, "inputs": {
                **inputs, "job-prefix": "pinned-",
                "modelci-source": f"git+{REPOSITORY}@{published.commit}"}},
            # the default: the release tag of the template's version
            {"remote": template, "inputs": {**inputs, "job-prefix": "default-"}},
        ],
    )  # fmt: skip

    run = run_pipeline(
        consumer, env={"PATH": _without_modelci(), **published.git_env}, timeout=1200
    )

    for job in ("pinned-modelci-validate-data", "default-modelci-validate-data"):
        assert run.passed(job), run.output
        log = run.job_log(job)
        assert f"modelci {__version__}: using" not in log  # installed by the job itself
        report = run.artifacts(job) / ".modelci" / "validate-data" / "report.json"
        assert json.loads(report.read_text())["passed"] is True
    # the templates came from the served commit, modelci from the served repository
    assert any(f"/{published.commit}/gitlab-templates/validate-data.yml" in p
               for p in published.requests)  # fmt: skip
    assert any(p.startswith("/modelci/modelci.git/info/refs") for p in published.requests)
    # the job's venv is gone when the job ends
    builds = consumer / ".gitlab-ci-local" / "builds"
    assert not list(builds.glob("*/.modelci-venv")), "a job left its venv behind"


def test_the_default_source_is_this_repository_at_the_release_tag() -> None:
    from modelci.generate.templates import default_source

    assert default_source() == f"git+{REPOSITORY}@v{__version__}"
    for template in (REPO / "gitlab-templates").glob("*.yml"):
        head = yaml.safe_load(template.read_text().split("\n---\n")[0])
        assert head["spec"]["inputs"]["modelci-source"]["default"] == default_source()
