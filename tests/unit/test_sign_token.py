"""Finding the CI's OIDC token for keyless signing, and what the user is told without one.

The GitHub case requests the token over HTTP from a server on 127.0.0.1 that plays the
runner's token endpoint, to check the request modelci sends (bearer, audience); GitHub's
real endpoint exists only inside a GitHub job.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import yaml

from modelci.errors import InfraError, InputError
from modelci.signing import GITLAB_ID_TOKENS, identity_token
from modelci.signing.token import GITLAB_ID_TOKENS_INLINE

BEARER = "canary-request-token-9d1"


def _token(audience: str | list[str] = "sigstore", expires_in: int = 300) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:acme/model:ref:refs/heads/main",
        "aud": audience,
        "iat": now,
        "exp": now + expires_in,
    }
    return jwt.encode(claims, "test-key-that-is-long-enough-for-hs256", algorithm="HS256")


def _one_line_input_error(env: dict[str, str]) -> str:
    with pytest.raises(InputError) as failed:
        identity_token(env)
    assert "\n" not in str(failed.value)
    return str(failed.value)


def test_explicit_token() -> None:
    token = _token()
    assert identity_token({"SIGSTORE_ID_TOKEN": token}) == token


def test_gitlab_token_from_id_tokens() -> None:
    token = _token()
    assert identity_token({"GITLAB_CI": "true", "SIGSTORE_ID_TOKEN": token}) == token


def test_github_without_permission_names_it() -> None:
    message = _one_line_input_error({"GITHUB_ACTIONS": "true"})
    assert "`permissions: id-token: write`" in message


def test_gitlab_without_id_tokens_gives_the_lines_to_paste() -> None:
    message = _one_line_input_error({"GITLAB_CI": "true", "CI_JOB_NAME": "modelci-sign"})
    assert GITLAB_ID_TOKENS_INLINE in message
    assert "modelci-sign" in message
    assert "included templates" in message
    # the one-line form and the block form are the same YAML
    assert yaml.safe_load(GITLAB_ID_TOKENS_INLINE) == yaml.safe_load(GITLAB_ID_TOKENS)
    assert yaml.safe_load(GITLAB_ID_TOKENS) == {
        "id_tokens": {"SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    }


def test_the_ci_is_the_one_every_step_detects() -> None:
    # the GitLab templates set MODELCI_CI=gitlab; runners that do not say GITLAB_CI=true
    # (gitlab-ci-local) still get GitLab's advice, and MODELCI_CI=local forces the generic one
    message = _one_line_input_error({"MODELCI_CI": "gitlab", "CI_JOB_NAME": "modelci-sign"})
    assert "to modelci-sign in your project's .gitlab-ci.yml" in message
    message = _one_line_input_error({"MODELCI_CI": "local", "GITHUB_ACTIONS": "true"})
    assert "set SIGSTORE_ID_TOKEN" in message


def test_no_ci_names_the_variable() -> None:
    message = _one_line_input_error({})
    assert "SIGSTORE_ID_TOKEN" in message


def test_wrong_audience_is_explained_without_the_token() -> None:
    token = _token(audience="https://gitlab.example.com")
    message = _one_line_input_error({"GITLAB_CI": "true", "SIGSTORE_ID_TOKEN": token})
    assert "audience 'https://gitlab.example.com'" in message
    assert "aud: sigstore" in message
    assert token not in message


def test_expired_token() -> None:
    token = _token(expires_in=-600)
    message = _one_line_input_error({"SIGSTORE_ID_TOKEN": token})
    assert "SIGSTORE_ID_TOKEN is not usable for Sigstore" in message
    assert token not in message


def test_not_a_jwt() -> None:
    message = _one_line_input_error({"SIGSTORE_ID_TOKEN": "canary-not-a-jwt"})
    assert message == "SIGSTORE_ID_TOKEN is not a JWT"


class _Endpoint(http.server.BaseHTTPRequestHandler):
    status = 200
    answer: ClassVar[dict[str, str]] = {}
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps(type(self).answer).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, type[_Endpoint]]]:
    handler = type("Handler", (_Endpoint,), {"seen": [], "answer": {}, "status": 200})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/token?api-version=2.0", handler
    finally:
        server.shutdown()
        server.server_close()


def test_github_token_is_requested_for_sigstore(endpoint: tuple[str, type[_Endpoint]]) -> None:
    url, handler = endpoint
    token = _token()
    handler.answer = {"value": token}
    env = {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": BEARER,
    }
    assert identity_token(env) == token
    path, authorization = handler.seen[0]
    query = parse_qs(urlsplit(path).query)
    assert query == {"api-version": ["2.0"], "audience": ["sigstore"]}
    assert authorization == f"bearer {BEARER}"


def test_github_refusal_is_not_retried_and_hides_the_bearer(
    endpoint: tuple[str, type[_Endpoint]],
) -> None:
    url, handler = endpoint
    handler.status = 403
    env = {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": BEARER,
    }
    with pytest.raises(InfraError) as failed:
        identity_token(env)
    assert "HTTP 403" in str(failed.value)
    assert BEARER not in str(failed.value)
    assert len(handler.seen) == 1


def test_github_token_for_another_audience_is_refused(
    endpoint: tuple[str, type[_Endpoint]],
) -> None:
    url, handler = endpoint
    handler.answer = {"value": _token(audience="other")}
    env = {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": BEARER,
    }
    with pytest.raises(InputError, match="the token GitHub returned is for audience 'other'"):
        identity_token(env)


def test_unreachable_endpoint_is_infra_error() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "GITHUB_ACTIONS": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"http://127.0.0.1:{port}/token",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": BEARER,
    }
    with pytest.raises(InfraError, match="GitHub's OIDC token endpoint gave no token"):
        identity_token(env, timeout=2)


def _ci_token(**claims: str) -> str:
    now = int(time.time())
    body = {"aud": "sigstore", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, "test-key-that-is-long-enough-for-hs256", algorithm="HS256")


def test_workflow_identity_is_the_reusable_workflow_on_github() -> None:
    """In a reusable workflow GitHub's context names the caller; the token's job_workflow_ref
    names the callee, which is what Fulcio certifies and provenance must call the builder."""
    from modelci.signing.token import workflow_identity

    token = _ci_token(
        iss="https://token.actions.githubusercontent.com",
        workflow_ref="acme/models/.github/workflows/release.yml@refs/heads/main",
        job_workflow_ref="acme/modelci/.github/workflows/train-attest.yml@refs/tags/v1",
    )
    assert workflow_identity(token) == (
        "https://github.com/acme/modelci/.github/workflows/train-attest.yml@refs/tags/v1"
    )


def test_workflow_identity_on_gitlab_and_elsewhere() -> None:
    from modelci.signing.token import workflow_identity

    gitlab = _ci_token(
        iss="https://gitlab.com",
        ci_config_ref_uri="gitlab.com/acme/models//.gitlab-ci.yml@refs/heads/main",
    )
    assert (
        workflow_identity(gitlab)
        == "https://gitlab.com/acme/models//.gitlab-ci.yml@refs/heads/main"
    )
    person = _ci_token(iss="https://accounts.google.com", email="a@example.com")
    assert workflow_identity(person) is None
    assert workflow_identity(_ci_token(iss="https://token.actions.githubusercontent.com")) is None
    assert workflow_identity("not a jwt") is None


def test_provenance_builder_signing_keylessly_is_the_certified_workflow() -> None:
    from modelci import config as config_module
    from modelci.signing import KeylessSigner
    from modelci.step import Context
    from modelci.steps.provenance import LOCAL_BUILDER, _builder

    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_WORKFLOW_REF": "acme/models/.github/workflows/release.yml@refs/heads/main",
    }
    ctx = Context.of(config_module.load(None, env=env, search=False), env)
    caller = "https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main"
    assert _builder(ctx, None) == caller
    token = _ci_token(
        iss="https://token.actions.githubusercontent.com",
        job_workflow_ref="acme/modelci/.github/workflows/train-attest.yml@refs/tags/v1",
    )
    assert _builder(ctx, KeylessSigner(token)) == (
        "https://github.com/acme/modelci/.github/workflows/train-attest.yml@refs/tags/v1"
    )
    pinned = {**env, "MODELCI_PROVENANCE__BUILDER": "https://builder.example/x"}
    ctx = Context.of(config_module.load(None, env=pinned, search=False), pinned)
    assert _builder(ctx, KeylessSigner(token)) == "https://builder.example/x"
    local = Context.of(config_module.load(None, env={}, search=False), {})
    assert _builder(local, None) in {LOCAL_BUILDER, local.ci.workflow}
