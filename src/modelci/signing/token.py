"""The CI's OIDC identity token for keyless signing, found in the environment given.

sigstore-python's ``detect_credential`` reads the process environment itself and returns
nothing, without saying why, when a job lacks the permission; modelci takes the
environment as a mapping (so callers and tests control it) and says exactly what to add.
The GitHub request is the documented one: GET the request URL with ``audience=sigstore``
and the request token as bearer. Tokens are checked by sigstore-python's ``IdentityToken``
and never printed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING

from modelci.cicontext import provider
from modelci.errors import InfraError, InputError, first_line

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken

AUDIENCE = "sigstore"
TOKEN_VARIABLE = "SIGSTORE_ID_TOKEN"  # noqa: S105 (a name, not a secret)
GITHUB_PERMISSION = "permissions: id-token: write"
# What a GitLab job needs; GitLab honours id_tokens only in the project's own
# .gitlab-ci.yml, never from an included template, so users must paste these lines.
GITLAB_ID_TOKENS = f"id_tokens:\n  {TOKEN_VARIABLE}:\n    aud: {AUDIENCE}\n"
GITLAB_ID_TOKENS_INLINE = f"id_tokens: {{{TOKEN_VARIABLE}: {{aud: {AUDIENCE}}}}}"

_ATTEMPTS = 3


def identity_token(env: Mapping[str, str], *, timeout: float = 10.0) -> str:
    """An OIDC token with audience ``sigstore``: ``SIGSTORE_ID_TOKEN`` when set (GitLab's
    ``id_tokens``, or any CI), else one requested from GitHub Actions."""
    token = env.get(TOKEN_VARIABLE)
    if token:
        checked_token(token, TOKEN_VARIABLE)
        return token
    ci = provider(env)  # one detection for every step (MODELCI_CI forces it)
    if ci == "github":
        url = env.get("ACTIONS_ID_TOKEN_REQUEST_URL")
        bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        if not url or not bearer:
            raise InputError(
                "no OIDC token for keyless signing: GitHub gives one only to jobs with "
                f"`{GITHUB_PERMISSION}`; add it to the job that signs"
            )
        token = _github_token(url, bearer, timeout)
        checked_token(token, "the token GitHub returned")
        return token
    if ci == "gitlab":
        job = env.get("CI_JOB_NAME") or "the job that signs"
        raise InputError(
            f"no OIDC token for keyless signing: add `{GITLAB_ID_TOKENS_INLINE}` to {job} in "
            "your project's .gitlab-ci.yml (GitLab ignores id_tokens in included templates)"
        )
    raise InputError(
        f"no OIDC token for keyless signing: set {TOKEN_VARIABLE} to a token with audience "
        f"`{AUDIENCE}` (GitHub Actions: `{GITHUB_PERMISSION}`; GitLab CI: "
        f"`{GITLAB_ID_TOKENS_INLINE}` in the job)"
    )


def checked_token(token: str, source: str) -> IdentityToken:
    """sigstore-python's parsed token; ``InputError`` naming ``source`` (never the token)
    when it is malformed, expired or for another audience."""
    import jwt
    from sigstore.oidc import IdentityError, IdentityToken

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InputError(f"{source} is not a JWT") from None
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if AUDIENCE not in audiences:
        raise InputError(
            f"{source} is for audience {audience!r}; Sigstore needs `{AUDIENCE}` "
            f"(GitLab: `aud: {AUDIENCE}` under id_tokens)"
        )
    try:
        return IdentityToken(token, client_id=AUDIENCE)
    except IdentityError as exc:
        raise InputError(f"{source} is not usable for Sigstore: {first_line(exc, 160)}") from None


def _github_token(url: str, bearer: str, timeout: float) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise InputError(f"ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL: {parts.scheme}:")
    joiner = "&" if parts.query else "?"
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        f"{url}{joiner}audience={AUDIENCE}",
        headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"},
    )
    reason = ""
    for attempt in range(_ATTEMPTS):
        if attempt:
            time.sleep(0.5 * 2**attempt)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                value = json.loads(response.read()).get("value")
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code}"
            if exc.code < 500:
                break  # a refusal does not change on retry
            continue
        except (OSError, ValueError, AttributeError) as exc:
            reason = first_line(exc, 120)
            continue
        if isinstance(value, str) and value:
            return value
        reason = "the answer holds no token"
        break
    raise InfraError(f"GitHub's OIDC token endpoint gave no token: {reason}")


#: OIDC issuers whose tokens name the CI workflow Fulcio certifies, and the claim it uses:
#: Fulcio puts ``https://github.com/<job_workflow_ref>`` (the reusable workflow's own ref,
#: not the caller's) or ``https://<ci_config_ref_uri>`` in the certificate's SAN.
_WORKFLOW_CLAIMS = {
    "https://token.actions.githubusercontent.com": ("job_workflow_ref", "https://github.com/"),
    "https://gitlab.com": ("ci_config_ref_uri", "https://"),
}


def workflow_identity(token: str) -> str | None:
    """The identity the signing certificate will name for a CI token: the workflow file
    that runs the job, at its ref. ``None`` for other issuers (a person's email).

    This is how a reusable workflow learns its own ref: GitHub's ``github`` context names
    the caller's workflow there, only the token's ``job_workflow_ref`` names the callee.
    The token is read, not verified: Fulcio verifies it and certifies the same claim, and
    ``verify --identity`` checks the certificate."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    known = _WORKFLOW_CLAIMS.get(str(claims.get("iss", "")).rstrip("/"))
    if known is None:
        return None
    claim, prefix = known
    value = claims.get(claim)
    return f"{prefix}{value}" if isinstance(value, str) and value else None
