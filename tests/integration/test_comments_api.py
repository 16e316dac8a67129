"""PR/MR comments against a local HTTP server that answers like the GitHub and GitLab APIs.

The server keeps comments in memory, paginates lists the way each API does (GitHub's
``Link: rel="next"``, GitLab's ``X-Next-Page``), checks the authentication header, and
records every request so the tests can assert what was sent.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from modelci.comparing import comment
from modelci.errors import InfraError
from tests.conftest import CliRunner

pytestmark = pytest.mark.integration

TOKEN = "s3cret"


@dataclass
class FakeForge:
    """In-memory comments of one pull/merge request, as GitHub or GitLab keeps them."""

    platform: str
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    page_size: int = 2
    #: answer this many requests with 502 before behaving
    fail_next: int = 0
    next_id: int = 100
    #: answer like GitHub does to a read-only token (pull requests from forks)
    forbid: bool = False

    def seed(self, bodies: list[str]) -> None:
        for text in bodies:
            self.comments.append({"id": self.next_id, "body": text})
            self.next_id += 1


def _handler(forge: FakeForge, base_url: list[str]) -> type[BaseHTTPRequestHandler]:
    github_list = re.compile(r"^/api/v3/repos/acme/models/issues/(\d+)/comments$")
    github_item = re.compile(r"^/api/v3/repos/acme/models/issues/comments/(\d+)$")
    gitlab_list = re.compile(r"^/api/v4/projects/(\d+)/merge_requests/(\d+)/notes$")
    gitlab_item = re.compile(r"^/api/v4/projects/(\d+)/merge_requests/(\d+)/notes/(\d+)$")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length)) if length else None
            # header names are case-insensitive (urllib capitalises them): store them lowered
            headers = {k.lower(): v for k, v in self.headers.items()}
            forge.requests.append((method, self.path, headers, payload))
            if forge.fail_next:
                forge.fail_next -= 1
                self._answer(502, {"message": "bad gateway"})
                return
            if forge.forbid:
                self._answer(403, {"message": "Resource not accessible by integration"})
                return
            if not self._authorised():
                self._answer(401, {"message": "401 Unauthorized"})
                return
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if forge.platform == "github":
                listing, item = github_list.match(parts.path), github_item.match(parts.path)
            else:
                listing, item = gitlab_list.match(parts.path), gitlab_item.match(parts.path)
            if listing and method == "GET":
                self._list(parts.path, query)
            elif listing and method == "POST":
                created = {"id": forge.next_id, "body": payload["body"]}
                forge.next_id += 1
                forge.comments.append(created)
                self._answer(201, created)
            elif item and method in ("PATCH", "PUT"):
                wanted = int(item.groups()[-1])
                for existing in forge.comments:
                    if existing["id"] == wanted:
                        existing["body"] = payload["body"]
                        self._answer(200, existing)
                        return
                self._answer(404, {"message": "Not Found"})
            else:
                self._answer(404, {"message": "Not Found"})

        def _authorised(self) -> bool:
            if forge.platform == "github":
                return self.headers.get("Authorization") == f"Bearer {TOKEN}"
            return TOKEN in (self.headers.get("PRIVATE-TOKEN"), self.headers.get("JOB-TOKEN"))

        def _list(self, path: str, query: dict[str, list[str]]) -> None:
            page = int(query.get("page", ["1"])[0])
            size = forge.page_size
            chunk = forge.comments[(page - 1) * size : page * size]
            more = page * size < len(forge.comments)
            headers: dict[str, str] = {}
            if forge.platform == "github" and more:
                headers["Link"] = (
                    f'<{base_url[0]}{path}?per_page=100&page={page + 1}>; rel="next", '
                    f'<{base_url[0]}{path}?page=1>; rel="first"'
                )
            if forge.platform == "gitlab":
                headers["X-Next-Page"] = str(page + 1) if more else ""
                headers["X-Page"] = str(page)
            self._answer(200, chunk, headers)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_PUT(self) -> None:
            self._handle("PUT")

    return Handler


def _serve(forge: FakeForge) -> Iterator[str]:
    base: list[str] = [""]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(forge, base))
    base[0] = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield base[0]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def github() -> Iterator[tuple[FakeForge, str]]:
    forge = FakeForge("github")
    for url in _serve(forge):
        yield forge, url


@pytest.fixture
def gitlab() -> Iterator[tuple[FakeForge, str]]:
    forge = FakeForge("gitlab")
    for url in _serve(forge):
        yield forge, url


def _github_env(url: str, tmp_path: Path, *, token: str | None = TOKEN) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}), encoding="utf-8")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_API_URL": f"{url}/api/v3",
    }
    if token:
        env["GITHUB_TOKEN"] = token
    return env


def _gitlab_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "GITLAB_CI": "true",
        "CI_API_V4_URL": f"{url}/api/v4",
        "CI_PROJECT_ID": "12",
        "CI_MERGE_REQUEST_IID": "3",
        **extra,
    }


def _quick() -> comment.Client:
    return comment.Client({}, attempts=3, backoff_s=0.0, sleep=lambda _: None)


def test_github_creates_one_comment_then_updates_it_in_place(
    github: tuple[FakeForge, str], tmp_path: Path
) -> None:
    forge, url = github
    forge.seed(["LGTM", "another reviewer", "a bot said hi"])  # two pages before ours
    env = _github_env(url, tmp_path)
    note = comment.publish(
        "| metric | verdict |\n|---|---|\n| accuracy | ✅ |", env, client=_quick()
    )
    assert note == "commented on pull request #7"
    ours = [c for c in forge.comments if comment.marker("compare") in c["body"]]
    assert len(ours) == 1 and "| accuracy | ✅ |" in ours[0]["body"]
    first_id = ours[0]["id"]

    note = comment.publish("| accuracy | ❌ |", env, client=_quick())
    assert note == "updated the comment on pull request #7"
    ours = [c for c in forge.comments if comment.marker("compare") in c["body"]]
    assert [c["id"] for c in ours] == [first_id]
    assert "| accuracy | ❌ |" in ours[0]["body"] and "✅" not in ours[0]["body"]
    assert len(forge.comments) == 4
    methods = [(m, p.split("?")[0]) for m, p, _, _ in forge.requests]
    # the second run walked both pages of comments, found its own, and patched it
    assert ("PATCH", f"/api/v3/repos/acme/models/issues/comments/{first_id}") in methods
    assert sum(1 for m, _ in methods if m == "POST") == 1
    pages = [p for m, p, _, _ in forge.requests if m == "GET"]
    assert any("page=2" in p for p in pages)
    headers = forge.requests[-1][2]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-github-api-version"] == "2022-11-28"


def test_gitlab_with_a_project_token_creates_then_updates(
    gitlab: tuple[FakeForge, str],
) -> None:
    forge, url = gitlab
    forge.seed(["first review", "second review", "third review"])
    env = _gitlab_env(url, GITLAB_TOKEN=TOKEN, CI_JOB_TOKEN="job-token-not-used")
    assert comment.publish("table v1", env, client=_quick()) == "commented on merge request !3"
    assert comment.publish("table v2", env, client=_quick()) == (
        "updated the comment on merge request !3"
    )
    ours = [c for c in forge.comments if comment.marker("compare") in c["body"]]
    assert len(ours) == 1 and "table v2" in ours[0]["body"]
    put = [(p, h) for m, p, h, _ in forge.requests if m == "PUT"]
    assert put and put[0][0] == f"/api/v4/projects/12/merge_requests/3/notes/{ours[0]['id']}"
    assert put[0][1]["private-token"] == TOKEN and "job-token" not in put[0][1]
    assert any("page=2" in p for m, p, _, _ in forge.requests if m == "GET")


def test_gitlab_falls_back_to_the_job_token(gitlab: tuple[FakeForge, str]) -> None:
    forge, url = gitlab
    env = _gitlab_env(url, CI_JOB_TOKEN=TOKEN)
    assert comment.publish("table", env, client=_quick()) == "commented on merge request !3"
    assert forge.requests[-1][2]["job-token"] == TOKEN


def test_transient_errors_are_retried_then_reported(
    github: tuple[FakeForge, str], tmp_path: Path
) -> None:
    forge, url = github
    env = _github_env(url, tmp_path)
    forge.fail_next = 2
    waits: list[float] = []
    client = comment.Client({}, attempts=3, backoff_s=0.5, sleep=waits.append)
    assert comment.publish("table", env, client=client) == "commented on pull request #7"
    assert waits == [0.5, 1.0]
    forge.fail_next = 10
    with pytest.raises(InfraError, match=r"failed after 3 attempts: 502 \(bad gateway\)"):
        comment.publish("table", env, client=_quick())


def test_a_rejected_token_is_not_retried(github: tuple[FakeForge, str], tmp_path: Path) -> None:
    forge, url = github
    env = _github_env(url, tmp_path, token="wrong")
    with pytest.raises(InfraError, match=r"answered 401 \(401 Unauthorized\)"):
        comment.publish("table", env, client=_quick())
    assert len(forge.requests) == 1


def test_a_read_only_token_skips_the_comment(github: tuple[FakeForge, str], tmp_path: Path) -> None:
    forge, url = github
    forge.forbid = True
    note = comment.publish("table", _github_env(url, tmp_path), client=_quick())
    assert note.startswith("the token may not comment on pull request #7")
    assert "403 (Resource not accessible by integration)" in note
    assert forge.comments == [] and len(forge.requests) == 1


def test_no_comment_outside_a_pull_request_or_without_a_token(
    github: tuple[FakeForge, str], tmp_path: Path
) -> None:
    forge, url = github
    no_token = _github_env(url, tmp_path, token=None)
    assert "no GITHUB_TOKEN" in comment.publish("table", no_token)
    push = {**_github_env(url, tmp_path), "GITHUB_EVENT_PATH": "", "GITHUB_REF": "refs/heads/main"}
    assert comment.publish("table", push) == "not running for a pull request: no comment"
    branch_pipeline = {
        **_gitlab_env(url, GITLAB_TOKEN=TOKEN, CI_MERGE_REQUEST_IID=""),
        "GITLAB_CI": "",
        "MODELCI_CI": "gitlab",
    }
    assert "not running for a merge request" in comment.publish("table", branch_pipeline)
    assert "not running in GitHub Actions or GitLab CI" in comment.publish("table", {})
    # MODELCI_CI forces the platform either way, as for the CI adapters
    forced_local = {**_github_env(url, tmp_path), "MODELCI_CI": "local"}
    assert "not running in GitHub Actions or GitLab CI" in comment.publish("table", forced_local)
    assert forge.requests == []


def test_pull_request_number_from_the_ref_when_no_event_file(
    github: tuple[FakeForge, str], tmp_path: Path
) -> None:
    forge, url = github
    env = {**_github_env(url, tmp_path), "GITHUB_EVENT_PATH": "", "GITHUB_REF": "refs/pull/7/merge"}
    assert comment.publish("table", env, client=_quick()) == "commented on pull request #7"
    assert forge.requests[-1][1] == "/api/v3/repos/acme/models/issues/7/comments"


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_compare_command_posts_its_table_and_updates_it_on_the_next_push(
    github: tuple[FakeForge, str], in_tmp: Path, run_cli: CliRunner
) -> None:
    from tests.unit.compare_support import project

    forge, url = github
    project(in_tmp, champion="1", candidate="2")
    env = _github_env(url, in_tmp)
    first = run_cli("compare", "--resamples", "200", env=env)
    assert first.code == 0, first.err
    assert "modelci compare: commented on pull request #7" in first.out
    [ours] = [c for c in forge.comments if comment.marker("compare") in c["body"]]
    assert "✅ must not degrade" in ours["body"] and "95% interval" in ours["body"]
    # the next push brings a worse candidate: the gate fails and the same comment says so
    swapped = ["--candidate", "models:/bc/1", "--production", "models:/bc/2"]
    second = run_cli("compare", "--resamples", "200", *swapped, env=env)
    assert second.code == 1
    assert "modelci compare: updated the comment on pull request #7" in second.out
    [ours] = [c for c in forge.comments if comment.marker("compare") in c["body"]]
    assert "❌ must not degrade" in ours["body"] and "✅ must not degrade" not in ours["body"]


def _closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: the connection is refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("platform", ["github", "gitlab"])
@pytest.mark.parametrize("fault", ["401", "refused", "403"])
def test_a_comment_that_cannot_be_posted_never_fails_a_passed_compare(
    platform: str,
    fault: str,
    github: tuple[FakeForge, str],
    gitlab: tuple[FakeForge, str],
    in_tmp: Path,
    run_cli: CliRunner,
    tmp_path: Path,
) -> None:
    from tests.unit.compare_support import project

    forge, url = github if platform == "github" else gitlab
    project(in_tmp, champion="1", candidate="2")
    if fault == "refused":
        url = _closed_port_url()
    forge.forbid = fault == "403"
    token = "wrong-token" if fault == "401" else TOKEN
    if platform == "github":
        env = _github_env(url, tmp_path, token=token)
    else:
        env = _gitlab_env(url, GITLAB_TOKEN=token)
    summary = tmp_path / "step-summary.md"
    summary.write_text("")
    env["GITHUB_STEP_SUMMARY"] = str(summary)

    result = run_cli("compare", "--resamples", "200", env=env)

    assert result.code == 0, result.err
    assert "compare passed" in result.out
    where = "pull request #7" if platform == "github" else "merge request !3"
    if fault == "403":
        # a read-only token (a fork's pull request) is normal: a note, not a warning
        assert f"modelci compare: the token may not comment on {where}" in result.out
        assert "warning" not in (result.out + result.err).lower().replace("warnings", "")
    else:
        shown = result.out + result.err
        detail = "answered 401" if fault == "401" else "failed after 3 attempts"
        if platform == "github":
            assert (
                "::warning title=modelci::modelci compare: the PR/MR comment was not posted"
                in shown
            )
        else:
            assert "warning: modelci compare: the PR/MR comment was not posted" in shown
        assert detail in shown
    assert TOKEN not in result.out + result.err and "wrong-token" not in result.out + result.err
    assert forge.comments == []
    # the verdict is still where the pipeline shows it
    manifest = json.loads((in_tmp / ".modelci" / "manifest.json").read_text())
    assert manifest["steps"]["compare"]["passed"] is True
    if platform == "github":
        assert "compare" in summary.read_text()
