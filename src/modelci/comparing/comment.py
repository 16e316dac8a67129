"""One pull/merge request comment per step, found by a hidden marker and updated on each push.

GitHub: the issue-comments REST API with ``GITHUB_TOKEN`` (``pull-requests: write``).
GitLab: the merge request notes API with a project/personal token (``GITLAB_TOKEN``, sent as
PRIVATE-TOKEN) or the job token (``CI_JOB_TOKEN``, sent as JOB-TOKEN). Plain urllib, so no
HTTP dependency; transient failures (5xx, 429, network) are retried a bounded number of
times, then reported as an infrastructure error.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelci import __version__
from modelci.errors import InfraError

#: GitHub refuses bodies over 65536 characters; keep room for the marker and the note
MAX_BODY = 60_000
ATTEMPTS = 3
TIMEOUT_S = 30.0


def marker(step: str) -> str:
    return f"<!-- modelci:{step} -->"


@dataclass(frozen=True)
class Target:
    """Where the comment lives and how to authenticate there."""

    platform: str
    list_url: str
    create_url: str
    headers: Mapping[str, str]
    #: comment id → URL that updates it
    update_url: Callable[[int], str]
    update_method: str


def target_from_env(env: Mapping[str, str]) -> tuple[Target | None, str]:
    """The comment target of this CI job, or ``None`` and why there is none."""
    # MODELCI_CI forces the platform, as it does for the CI adapters
    forced = env.get("MODELCI_CI", "").strip().lower()
    if forced == "github" or (not forced and env.get("GITHUB_ACTIONS") == "true"):
        return _github(env)
    if forced == "gitlab" or (not forced and env.get("GITLAB_CI") == "true"):
        return _gitlab(env)
    return None, "not running in GitHub Actions or GitLab CI: no pull request comment"


def _github(env: Mapping[str, str]) -> tuple[Target | None, str]:
    number = _github_pr_number(env)
    if number is None:
        return None, "not running for a pull request: no comment"
    token = env.get("GITHUB_TOKEN")
    if not token:
        return None, "no GITHUB_TOKEN (token input): pull request comment skipped"
    repo = env.get("GITHUB_REPOSITORY", "")
    if not repo:
        return None, "GITHUB_REPOSITORY is not set: pull request comment skipped"
    api = env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    base = f"{api}/repos/{repo}/issues"
    return (
        Target(
            platform="github",
            list_url=f"{base}/{number}/comments?per_page=100",
            create_url=f"{base}/{number}/comments",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            update_url=lambda cid: f"{base}/comments/{cid}",
            update_method="PATCH",
        ),
        f"pull request #{number}",
    )


def _github_pr_number(env: Mapping[str, str]) -> int | None:
    if path := env.get("GITHUB_EVENT_PATH"):
        try:
            with open(path, encoding="utf-8") as handle:
                event = json.load(handle)
        except (OSError, ValueError):
            event = {}
        if isinstance(event, dict):
            pr = event.get("pull_request")
            if isinstance(pr, dict) and isinstance(pr.get("number"), int):
                return int(pr["number"])
    found = re.fullmatch(r"refs/pull/(\d+)/(?:merge|head)", env.get("GITHUB_REF", ""))
    return int(found.group(1)) if found else None


def _gitlab(env: Mapping[str, str]) -> tuple[Target | None, str]:
    iid = env.get("CI_MERGE_REQUEST_IID")
    if not iid:
        return None, "not running for a merge request: no comment"
    if token := env.get("GITLAB_TOKEN"):
        auth = {"PRIVATE-TOKEN": token}
    elif token := env.get("CI_JOB_TOKEN"):
        auth = {"JOB-TOKEN": token}
    else:
        return None, "no GITLAB_TOKEN or CI_JOB_TOKEN: merge request comment skipped"
    api = env.get("CI_API_V4_URL", "").rstrip("/")
    project = env.get("CI_PROJECT_ID", "")
    if not api or not project:
        return None, "CI_API_V4_URL or CI_PROJECT_ID is not set: merge request comment skipped"
    base = f"{api}/projects/{urllib.parse.quote(project, safe='')}/merge_requests/{iid}/notes"
    return (
        Target(
            platform="gitlab",
            list_url=f"{base}?per_page=100&sort=asc",
            create_url=base,
            headers=auth,
            update_url=lambda cid: f"{base}/{cid}",
            update_method="PUT",
        ),
        f"merge request !{iid}",
    )


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: Any


class Client:
    """JSON over HTTP with bounded retries; ``sleep`` is injectable so tests never wait."""

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        attempts: int = ATTEMPTS,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.headers = {"User-Agent": f"modelci/{__version__}", **headers}
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.sleep = sleep

    def request(self, method: str, url: str, payload: Any = None) -> Response:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
            req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(req, timeout=TIMEOUT_S) as answer:  # noqa: S310
                    raw = answer.read()
                    return Response(
                        answer.status, dict(answer.headers), json.loads(raw) if raw else None
                    )
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code == 403:
                    raise CommentForbidden(
                        f"{method} {_path(url)} answered 403 ({detail})"
                    ) from None
                if exc.code < 500 and exc.code != 429:
                    raise InfraError(
                        f"{method} {_path(url)} answered {exc.code} ({detail}); check that the "
                        "token may write pull/merge request comments"
                    ) from None
                last = f"{exc.code} ({detail})"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = str(getattr(exc, "reason", exc))
            except ValueError:
                raise InfraError(f"{method} {_path(url)} answered with invalid JSON") from None
        raise InfraError(f"{method} {_path(url)} failed after {self.attempts} attempts: {last}")


class CommentForbidden(InfraError):
    """The token may read but not write here, as for pull requests from forks."""


def _path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return exc.reason or "error"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or exc.reason)
    return str(exc.reason)


def _next_page(target: Target, url: str, response: Response) -> str | None:
    """GitHub links the next page in ``Link``; GitLab names it in ``X-Next-Page``."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    if target.platform == "github":
        for part in headers.get("link", "").split(","):
            found = re.search(r'<([^>]+)>\s*;\s*rel="next"', part)
            if found:
                return found.group(1)
        return None
    page = headers.get("x-next-page", "").strip()
    if not page:
        return None
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["page"] = page
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def find_existing(client: Client, target: Target, mark: str, *, max_pages: int = 50) -> int | None:
    url: str | None = target.list_url
    pages = 0
    while url and pages < max_pages:
        response = client.request("GET", url)
        for item in response.body or []:
            if isinstance(item, dict) and mark in str(item.get("body", "")):
                return int(item["id"])
        url = _next_page(target, url, response)
        pages += 1
    return None


def body(markdown: str, step: str) -> str:
    text = markdown
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY] + "\n\n… (truncated: the full table is in the job's report)"
    return f"{marker(step)}\n### modelci {step}\n\n{text}\n"


def publish(
    markdown: str,
    env: Mapping[str, str],
    *,
    step: str = "compare",
    client: Client | None = None,
) -> str:
    """Create or update this step's comment; returns a one-line note of what happened."""
    target, where = target_from_env(env)
    if target is None:
        return where
    http = client or Client(target.headers)
    if client is not None:
        http.headers = {**http.headers, **target.headers}
    mark = marker(step)
    text = body(markdown, step)
    try:
        existing = find_existing(http, target, mark)
        if existing is None:
            http.request("POST", target.create_url, {"body": text})
            return f"commented on {where}"
        http.request(target.update_method, target.update_url(existing), {"body": text})
    except CommentForbidden as exc:
        # A read-only token (a pull request from a fork) is normal, not an outage: the
        # verdict is still in the job summary and the reports.
        return f"the token may not comment on {where} ({exc}); comment skipped"
    return f"updated the comment on {where}"
