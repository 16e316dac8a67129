"""The credentials this process knows, and the one place that keeps them out of what it writes.

A credential reaches modelci three ways: inside a URI (``https://user:password@host``), in a
token or password variable (``MLFLOW_TRACKING_TOKEN``, ``GITHUB_TOKEN``, ...), or in a
setting that names a server. Code that builds a message or a file uses :func:`uri_display`
for URIs, so credentials are not put there in the first place; as a second line of defence
the CLI routes stdout and stderr through a :class:`Redactor` (which also covers what MLflow
and other libraries print, such as MLflow's "View run ... at: <uri>" lines) and the run
folder's text files are scrubbed on write (:func:`scrub`).
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qsl, urlsplit, urlunsplit

#: variables whose value is a credential, whatever it looks like
SECRET_VARIABLES = frozenset(
    {
        "MLFLOW_TRACKING_TOKEN",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_CLIENT_CERT_PATH",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GITLAB_TOKEN",
        "CI_JOB_TOKEN",
        "CI_JOB_JWT",
        "CI_JOB_JWT_V2",
        "CI_REGISTRY_PASSWORD",
        "CI_DEPLOY_PASSWORD",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "SIGSTORE_ID_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AZURE_STORAGE_ACCESS_KEY",
        "AZURE_STORAGE_CONNECTION_STRING",
        "GOOGLE_APPLICATION_CREDENTIALS_JSON",
    }
)
#: other variables are treated as credentials when their name says so
SECRET_NAME = re.compile(
    r"(TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|PRIVATE_KEY|API_KEY|ACCESS_KEY)", re.IGNORECASE
)
#: variables that may hold a URI with credentials in its user-info part
URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MODELCI_REGISTRY__TRACKING_URI")
#: query parameters that carry credentials in a URI
SECRET_QUERY = re.compile(r"token|password|secret|signature|sig|key", re.IGNORECASE)
#: shorter values would redact ordinary words ("true", a port number) everywhere
MIN_LENGTH = 6
MASK = "***"


def uri_display(uri: str) -> str:
    """A URI without user name, password or credential query parameters: what messages, the
    manifest and reports may show."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if not parts.scheme or "://" not in uri:
        return uri
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret_query = any(SECRET_QUERY.search(k) for k, _ in pairs)
    if "@" not in parts.netloc and not secret_query:
        return uri  # nothing to hide: keep it exactly (sqlite:////abs/path, say)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(f"{k}={MASK}" if SECRET_QUERY.search(k) else f"{k}={v}" for k, v in pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()]+")


def hide_credentials(text: str) -> str:
    """Free text (a library's error message, say) with every URL in it shown by
    :func:`uri_display`."""
    return _URL.sub(lambda found: uri_display(found.group(0)), text)


def uri_secrets(uri: str) -> set[str]:
    """The credential parts of a URI: its password (and the whole user-info part)."""
    found: set[str] = set()
    try:
        parts = urlsplit(uri)
    except ValueError:
        return found
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and userinfo:
        found.add(userinfo)
        _, colon, password = userinfo.partition(":")
        if colon and password:
            found.add(password)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if SECRET_QUERY.search(key) and value:
            found.add(value)
    return found


def env_secrets(env: Mapping[str, str]) -> set[str]:
    """Every credential the environment holds."""
    found: set[str] = set()
    for name, value in env.items():
        if not value:
            continue
        secret_name = name in SECRET_VARIABLES or SECRET_NAME.search(name)
        if secret_name and not _names_a_file(name, value):
            found.add(value)
        if name in URI_VARIABLES or "://" in value:
            found |= uri_secrets(value)
    return found


def _names_a_file(name: str, value: str) -> bool:
    """A key setting (``MODELCI_SIGN__PRIVATE_KEY``, a GitLab file variable) holding the path of
    an existing file: the secret is the file's content, and its path is what an error about
    the key must name. A value that is no file (PEM text pasted into the variable) stays
    secret."""
    if not (name.startswith("MODELCI_") and name.endswith("__PRIVATE_KEY")):
        return False  # a password stays secret even when it happens to name a file
    if "\n" in value or len(value) > 4096:
        return False
    try:
        return Path(value).is_file()
    except (OSError, ValueError):
        return False


class Redactor:
    """Replaces every known credential in a text by ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        new = {s for s in secrets if len(s) >= MIN_LENGTH} - self._secrets
        if not new:
            return
        self._secrets |= new
        # Longest first, so a password inside a longer user-info is replaced whole.
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def __bool__(self) -> bool:
        return self._pattern is not None


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written before passing it on, and never fails on
    a character the real stream cannot encode (a cp1252 or ASCII console, a CI log with
    ``PYTHONIOENCODING=ascii``): such characters are replaced, the output goes on.

    Libraries that captured ``sys.stderr`` in a logging handler write through this wrapper
    when it was installed before they were imported, which the CLI does first thing.
    """

    def __init__(self, inner: TextIO, redactor: Redactor) -> None:
        self._inner = inner
        self._redactor = redactor

    def write(self, text: str) -> int:
        safe = self._redactor(text)
        try:
            self._inner.write(safe)
        except UnicodeEncodeError:
            encoding = self.encoding
            self._inner.write(safe.encode(encoding, "replace").decode(encoding, "replace"))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._inner, "encoding", "utf-8"))

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._inner, "errors", None)

    def writable(self) -> bool:
        return True

    @property
    def inner(self) -> TextIO:
        return self._inner


#: the process's redactor: empty until :func:`install` or :func:`register` adds secrets
REDACTOR = Redactor()


def register(secrets: Iterable[str]) -> None:
    """Add credentials found later (a tracking URI from modelci.yaml, say)."""
    REDACTOR.add(secrets)


def install(env: Mapping[str, str]) -> None:
    """Learn the environment's credentials and route stdout and stderr through redaction."""
    register(env_secrets(env))
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout, REDACTOR)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr, REDACTOR)


def uninstall() -> None:
    """Put the original streams back (tests that call the CLI in-process)."""
    if isinstance(sys.stdout, RedactingStream):
        sys.stdout = sys.stdout.inner
    if isinstance(sys.stderr, RedactingStream):
        sys.stderr = sys.stderr.inner


def scrub(text: str) -> str:
    """``text`` with every registered credential replaced (for files the run folder keeps)."""
    return REDACTOR(text)
