"""Reaching a tracking server: a probe with bounded retries, MLflow's own retries bounded the
same way, and connection failures turned into one-line errors that name the server.

Left alone, MLflow retries every call for minutes; a CI job instead stops after a bounded
number of attempts with exit 3, naming the URI (without its credentials) and where the URI
came from.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from modelci.errors import InfraError, InputError, first_line
from modelci.registry.location import Location
from modelci.secrets import hide_credentials


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff: float = 0.5
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> RetryPolicy:
        s = settings or {}
        return cls(
            retries=int(s.get("retries", 3)),
            backoff=float(s.get("backoff", 0.5)),
            timeout=float(s.get("timeout", 10.0)),
        )


def probe(location: Location, policy: RetryPolicy, env: Mapping[str, str]) -> None:
    """Any HTTP answer means the server is there; refused, timed out or 5xx is retried.

    The probe goes through ``requests`` with MLflow's own TLS settings
    (``MLFLOW_TRACKING_INSECURE_TLS``, ``MLFLOW_TRACKING_SERVER_CERT_PATH``) and the usual
    proxy variables, so it reaches the server exactly when MLflow would. It sends no
    credentials: it only asks whether something answers.
    """
    import requests

    verify: bool | str = True
    if env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        verify = False
    elif env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        verify = env["MLFLOW_TRACKING_SERVER_CERT_PATH"]
    url = location.display.rstrip("/") + "/api/2.0/mlflow/experiments/search?max_results=1"
    last = ""
    delay = policy.backoff
    for attempt in range(policy.retries + 1):
        try:
            response = requests.get(url, timeout=policy.timeout, verify=verify)
        except requests.exceptions.SSLError as exc:
            raise InfraError(
                f"MLflow tracking server {location.display}: TLS failed ({_reason(exc)}); set "
                "MLFLOW_TRACKING_SERVER_CERT_PATH to your CA bundle"
            ) from None
        except requests.exceptions.RequestException as exc:
            last = _reason(exc)
        else:
            if response.status_code < 500:
                return  # up, perhaps asking for credentials: MLflow reports that itself
            last = f"HTTP {response.status_code}"
        if attempt < policy.retries:
            time.sleep(delay)
            delay *= 2
    raise InfraError(
        f"MLflow tracking server {location.display} unreachable after {policy.retries + 1} "
        f"attempts ({last}); check the URI ({location.origin}) and that the server is running"
    )


def _reason(exc: BaseException) -> str:
    """The innermost cause, without the URL (which may carry credentials)."""
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "No route to host",
        "CERTIFICATE_VERIFY_FAILED",
        "Connection reset",
    ):
        if marker in text:
            return marker
    return type(exc).__name__


@contextlib.contextmanager
def bounded_http(policy: RetryPolicy) -> Iterator[None]:
    """Bound MLflow's own HTTP retries and timeouts for the step (unless the user set them)."""
    wanted = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(policy.retries),
        # MLflow reads this one as an integer
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(math.ceil(policy.backoff)),
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, round(policy.timeout))),
    }
    added = [k for k in wanted if k not in os.environ]
    for key in added:
        os.environ[key] = wanted[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


@contextlib.contextmanager
def reachable(location: Location, policy: RetryPolicy, env: Mapping[str, str]) -> Iterator[None]:
    """For the block: a remote server answered the probe, MLflow's retries are bounded, and
    connection failures are :class:`InfraError` naming the server."""
    with bounded_http(policy), infra_errors(location):
        if location.remote:
            probe(location, policy, env)
        yield


#: what a database store says when it cannot be written, what that means, and what to do
STORE_FAILURES = (
    (
        "readonly database",
        "is read-only",
        "make the database file and its folder writable, or set {origin} to a writable store",
    ),
    (
        "unable to open database file",
        "cannot be opened",
        "check that the file and its folder exist and are writable, or set {origin} to "
        "another store",
    ),
    (
        "database or disk is full",
        "is on a full disk",
        "free disk space where the store lives, or set {origin} to another store",
    ),
    (
        "disk I/O error",
        "failed reading or writing the disk",
        "check the disk the store lives on, or set {origin} to another store",
    ),
)
#: the loggers through which MLflow prints a database error's traceback before raising it
NOISY_LOGGERS = ("mlflow.store.db.utils",)


def store_error(location: Location, exc: BaseException) -> InputError | None:
    """A store that cannot be written (read-only, full disk) as one line that names the store
    and what to do (exit 2: the setting or the machine needs fixing, retrying will not help);
    ``None`` for any other failure."""
    text = str(exc)
    for marker, what, todo in STORE_FAILURES:
        if marker in text:
            return InputError(
                f"MLflow store {location.display} {what} ({marker}); "
                + todo.format(origin=_origin(location))
            )
    return None


def _origin(location: Location) -> str:
    """Where to point a different store: the setting or variable this one came from."""
    if location.ephemeral and location.artifact_location is not None:
        return "MLFLOW_TRACKING_URI (or registry.tracking_uri)"
    return location.origin


@contextlib.contextmanager
def quiet_store() -> Iterator[None]:
    """Keep MLflow from printing a database error's traceback (eighty lines in a CI log):
    the error is still raised, and reported in one line."""
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    saved = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, was in zip(loggers, saved, strict=True):
            logger.disabled = was


@contextlib.contextmanager
def infra_errors(location: Location) -> Iterator[None]:
    """Connection failures while talking to the store become InfraError naming the URI; a
    store that cannot be written becomes an InputError saying so (:func:`store_error`)."""
    import requests

    try:
        with quiet_store():
            yield
    except requests.exceptions.RequestException as exc:
        raise InfraError(
            f"MLflow tracking server {location.display} failed: {type(exc).__name__}; "
            "check that the server is running and reachable"
        ) from exc
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if isinstance(exc, MlflowException) and (problem := store_error(location, exc)):
            raise problem from exc
        if isinstance(exc, MlflowException) and _is_connection_error(exc):
            raise InfraError(
                f"MLflow tracking server {location.display} failed: "
                f"{hide_credentials(first_line(exc, 300))}"
            ) from exc
        raise


def _is_connection_error(exc: BaseException) -> bool:
    text = str(exc)
    return any(
        marker in text
        for marker in ("Max retries exceeded", "Connection refused", "API request to", "timed out")
    )
