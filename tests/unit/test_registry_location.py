"""Where the registry is (configuration and environment only), whether it outlives the job,
how an unreachable server is reported, and the CI facts every step records."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from modelci import cicontext
from modelci import config as config_mod
from modelci.errors import InfraError, InputError
from modelci.registry.client import parse_models_uri
from modelci.registry.connection import RetryPolicy, probe
from modelci.registry.location import Location, locate, require_lasting


def _config(tmp_path: Path, text: str = "") -> config_mod.Config:
    (tmp_path / "modelci.yaml").write_text("version: 1\n" + text, encoding="utf-8")
    return config_mod.load(tmp_path / "modelci.yaml", env={})


def test_precedence_config_then_environment_then_the_run_folder(tmp_path: Path) -> None:
    run = tmp_path / ".modelci"
    env = {"MLFLOW_TRACKING_URI": "http://env:5000"}
    configured = locate(_config(tmp_path, "registry: {tracking_uri: 'http://cfg:5000'}\n"),
                        run, env)  # fmt: skip
    assert (configured.uri, configured.ephemeral) == ("http://cfg:5000", False)
    assert "registry.tracking_uri" in configured.origin
    from_env = locate(_config(tmp_path), run, env)
    assert (from_env.uri, from_env.origin) == ("http://env:5000", "MLFLOW_TRACKING_URI")
    own = locate(_config(tmp_path), run, {})
    assert own.uri == f"sqlite:///{run.resolve()}/mlflow.db"
    assert own.ephemeral
    assert own.artifact_location == (run / "mlartifacts").resolve().as_uri()


def test_a_store_configured_inside_the_run_folder_is_ephemeral_too(tmp_path: Path) -> None:
    run = tmp_path / ".modelci"
    inside = {"MLFLOW_TRACKING_URI": f"sqlite:///{run.resolve()}/other.db"}
    outside = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path.resolve()}/team.db"}
    assert locate(_config(tmp_path), run, inside).ephemeral
    assert not locate(_config(tmp_path), run, outside).ephemeral


def test_credentials_never_reach_the_display_form(tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": "https://user:s3cret-pass@mlflow.example.com:8443/?token=abc123x"}
    found = locate(_config(tmp_path), tmp_path / ".modelci", env)
    assert found.display == "https://mlflow.example.com:8443/?token=***"
    assert "s3cret" not in found.display


def test_a_gate_in_ci_refuses_a_registry_that_dies_with_the_job(tmp_path: Path) -> None:
    config = _config(tmp_path)
    own = locate(config, tmp_path / ".modelci", {})
    for env in ({"GITHUB_ACTIONS": "true"}, {"GITLAB_CI": "true"}, {"CI": "true"},
                {"MODELCI_CI": "gitlab"}):  # fmt: skip
        with pytest.raises(InputError) as info:
            require_lasting(own, config, cicontext.detect(env, tmp_path), "compare")
        message = str(info.value)
        assert "MLFLOW_TRACKING_URI" in message
        assert "registry.ephemeral: true" in message
        assert "\n" not in message
    # locally, and in CI with the explicit opt-in, it is allowed
    require_lasting(own, config, cicontext.detect({}, tmp_path), "compare")
    opted = _config(tmp_path, "registry: {ephemeral: true}\n")
    require_lasting(own, opted, cicontext.detect({"CI": "true"}, tmp_path), "compare")
    lasting = Location("http://mlflow:5000", "MLFLOW_TRACKING_URI", ephemeral=False)
    require_lasting(lasting, config, cicontext.detect({"CI": "true"}, tmp_path), "promote")


class _Handler(BaseHTTPRequestHandler):
    status = 503
    hits = 0
    authorization: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).hits += 1
        type(self).authorization.append(self.headers.get("Authorization"))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"hits": 0, "authorization": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def test_server_errors_are_retried_then_infra_error(server: tuple[str, type[_Handler]]) -> None:
    host, handler = server
    where = Location(f"http://{host}", "--tracking-uri", ephemeral=False)
    with pytest.raises(InfraError, match=r"unreachable after 3 attempts \(HTTP 503\)") as info:
        probe(where, RetryPolicy(retries=2, backoff=0.01), {})
    assert handler.hits == 3
    assert host in str(info.value) and "--tracking-uri" in str(info.value)


def test_the_probe_sends_no_credentials(server: tuple[str, type[_Handler]]) -> None:
    host, handler = server
    handler.status = 401
    where = Location(f"http://user:canary-pw@{host}", "MLFLOW_TRACKING_URI", ephemeral=False)
    probe(where, RetryPolicy(retries=2, backoff=0.01), {})
    assert handler.hits == 1
    assert handler.authorization == [None]


def test_ci_facts_from_github_gitlab_and_a_local_checkout(tmp_path: Path) -> None:
    github = cicontext.detect(
        {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abc", "GITHUB_REF_NAME": "main",
         "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "9", "GITHUB_ACTOR": "octocat"}, tmp_path
    )  # fmt: skip
    assert github.tags == {
        "modelci.git.commit": "abc",
        "modelci.git.branch": "main",
        "modelci.ci.run_url": "https://github.com/o/r/actions/runs/9",
        "modelci.ci.provider": "github",
        "modelci.ci.actor": "octocat",
    }
    assert github.in_ci
    gitlab = cicontext.detect(
        {"GITLAB_CI": "true", "CI_COMMIT_SHA": "def", "CI_COMMIT_REF_NAME": "mr-1",
         "CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/5", "GITLAB_USER_LOGIN": "dev"},
        tmp_path,
    )  # fmt: skip
    assert gitlab.run_url == "https://gitlab.example.com/g/p/-/jobs/5"
    assert (gitlab.branch, gitlab.actor) == ("mr-1", "dev")

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "trunk"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip
    local = cicontext.detect({"USER": "me"}, repo)
    assert (local.commit, local.branch, local.provider, local.in_ci) == (
        head,
        "trunk",
        "local",
        False,
    )
    with pytest.raises(InputError, match="MODELCI_CI"):
        cicontext.detect({"MODELCI_CI": "jenkins"}, tmp_path)


def test_models_uris() -> None:
    assert parse_models_uri("models:/churn@champion") == ("churn", None, "champion")
    assert parse_models_uri("models:/churn/7") == ("churn", "7", None)
    assert parse_models_uri("models:/churn") == ("churn", None, None)
