"""``python -m modelci.training.tracker_worker``: the train step's MLflow side.

The step (or its command, earlier still) starts this process first thing, so importing
MLflow and its store (seconds) overlaps with the step importing scikit-learn, reading the
data and fitting. The first line on stdin is the settings (``{"target", "policy"}``); then
requests come as JSON lines (``{"id", "op", "args"}``) and are answered in order on the
original stdout (``{"id", "ok"}``, ``{"id", "error": {"code", "message"}}`` for modelci's
own errors, ``{"id", "crash"}`` for anything else; see :mod:`modelci.training.tracker`).
Everything else the process prints, MLflow's messages included, goes to stderr, which is the
step's log.

The worker ends at end of input. SIGTERM (the step gave up before tracking anything)
ends it through ``SystemExit``, so a template database half-built in a temporary folder is
removed rather than left in the cache.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from types import FrameType
from typing import TextIO

from modelci import secrets
from modelci.process import collector_paused, leave
from modelci.registry.connection import RetryPolicy
from modelci.registry.location import Location
from modelci.training.session import Session
from modelci.training.tracker import dispatch


def serve(session: Session, requests: TextIO, replies: TextIO) -> None:
    """Answer requests until end of input; one reply line per request, in order."""
    warm_up_error: Exception | None = None
    try:
        with collector_paused(freeze=True):
            session.warm_up()
    except Exception as exc:  # answered to the first request, where the step can report it
        traceback.print_exc()
        warm_up_error = exc
    for line in requests:
        request = json.loads(line)
        if warm_up_error is not None:
            reply = {"crash": f"{type(warm_up_error).__name__}: {warm_up_error}"}
        else:
            reply = dispatch(session, request["op"], request.get("args", {}))
        replies.write(json.dumps({"id": request["id"], **reply}) + "\n")
        replies.flush()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    # Keep the protocol on a private copy of stdout; point fd 1 at the log.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    # What MLflow prints here goes straight to the step's stderr: redact it here too.
    secrets.install(os.environ)
    signal.signal(signal.SIGTERM, _terminate)
    # The slow part, begun before the step has even read its settings.
    with collector_paused(freeze=True):
        import mlflow  # noqa: F401

    first = sys.stdin.readline()
    if not first:  # the step ended before it tracked anything
        return 0
    settings = json.loads(first)
    secrets.register(secrets.uri_secrets(settings["target"]["uri"]))
    session = Session(
        Location(**settings["target"]), RetryPolicy(**settings["policy"]), dict(os.environ)
    )
    try:
        serve(session, sys.stdin, replies)
    finally:
        session.close()
    return 0


if __name__ == "__main__":  # pragma: no cover - run as the step's subprocess
    leave(main())
