"""Where runs are tracked, how an unreachable server is reported, which tags link a run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from modelci.errors import InfraError
from modelci.training.tracking import RetryPolicy, Target, probe, resolve_target, source_tags


def test_precedence_config_then_environment_then_embedded(tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": "http://env:5000"}
    configured = resolve_target("http://cfg:5000", "modelci.yaml: registry.tracking_uri",
                                tmp_path, env)  # fmt: skip
    assert (configured.uri, configured.origin) == (
        "http://cfg:5000",
        "modelci.yaml: registry.tracking_uri",
    )
    assert resolve_target(None, "x", tmp_path, env).origin == "MLFLOW_TRACKING_URI"
    embedded = resolve_target(None, "x", tmp_path / "run", {})
    assert embedded.uri == f"sqlite:///{(tmp_path / 'run').resolve()}/mlflow.db"
    assert embedded.artifact_location == (tmp_path / "run" / "mlartifacts").resolve().as_uri()


def test_credentials_never_reach_messages() -> None:
    target = Target("https://user:secret@mlflow.example.com:8443/", None, "MLFLOW_TRACKING_URI")
    assert target.display == "https://mlflow.example.com:8443/"


class _Handler(BaseHTTPRequestHandler):
    status = 503
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"hits": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def test_server_errors_are_retried_then_infra_error(server: tuple[str, type[_Handler]]) -> None:
    uri, handler = server
    with pytest.raises(InfraError, match=r"unreachable after 3 attempts \(HTTP 503\)") as info:
        probe(Target(uri, None, "--tracking-uri"), RetryPolicy(retries=2, backoff=0.01))
    assert handler.hits == 3
    assert uri in str(info.value) and "--tracking-uri" in str(info.value)


def test_any_client_answer_means_reachable(server: tuple[str, type[_Handler]]) -> None:
    uri, handler = server
    handler.status = 401
    probe(Target(uri, None, "x"), RetryPolicy(retries=2, backoff=0.01))
    assert handler.hits == 1


def test_tags_from_github_gitlab_and_a_local_checkout(tmp_path: Path) -> None:
    github = source_tags(
        {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abc", "GITHUB_REF_NAME": "main",
         "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "9"}, tmp_path
    )  # fmt: skip
    assert github == {
        "mlflow.source.git.commit": "abc", "modelci.git.commit": "abc",
        "mlflow.source.git.branch": "main", "modelci.git.branch": "main",
        "modelci.ci.run_url": "https://github.com/o/r/actions/runs/9",
        "modelci.ci.provider": "github",
    }  # fmt: skip
    gitlab = source_tags(
        {"GITLAB_CI": "true", "CI_COMMIT_SHA": "def", "CI_COMMIT_REF_NAME": "mr-1",
         "CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/5"}, tmp_path
    )  # fmt: skip
    assert gitlab["modelci.ci.run_url"] == "https://gitlab.example.com/g/p/-/jobs/5"
    assert gitlab["modelci.git.branch"] == "mr-1"

    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "trunk"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip
    local = source_tags({}, repo)
    assert local["modelci.git.commit"] == head
    assert local["modelci.git.branch"] == "trunk"
    assert local["modelci.ci.provider"] == "local"
