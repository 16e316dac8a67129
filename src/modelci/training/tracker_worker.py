"""``python -m modelci.training.tracker_worker``: the train step's MLflow side.

The step (or its command, earlier still) starts this process first thing, so importing
MLflow and its store (seconds) overlaps with the step importing scikit-learn, reading the
data and fitting. The first line on stdin is the settings (``{"target", "policy"}``); then
requests come as JSON lines (``{"id", "op", "args"}``) and are answered in order on the
original stdout (``{"id", "ok"}``, ``{"id", "error": {"code", "message"}}`` for modelci's
own errors, ``{"id", "crash"}`` for anything else). Everything else the process prints,
MLflow's messages included, goes to stderr, which is the step's log.

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
from typing import Any, TextIO

from modelci.errors import ModelciError
from modelci.process import collector_paused, leave
from modelci.training import tracking
from modelci.training.session import Session
from modelci.training.tracking import RetryPolicy, Target

OPERATIONS = frozenset({"start", "log", "log_model", "command_model", "download", "finish", "fail"})


def serve(session: Session, requests: TextIO, replies: TextIO) -> None:
    """Answer requests until end of input; one reply line per request, in order."""
    warm_up_error: BaseException | None = None
    try:
        with collector_paused(freeze=True):
            session.warm_up()
    except Exception as exc:  # answered to the first request, where the step can report it
        traceback.print_exc()
        warm_up_error = exc
    for line in requests:
        request = json.loads(line)
        reply: dict[str, Any] = {"id": request["id"]}
        try:
            if warm_up_error is not None:
                raise warm_up_error
            op = request["op"]
            if op not in OPERATIONS:
                raise ValueError(f"unknown tracking operation {op!r}")
            with tracking.infra_errors(session.target):
                reply["ok"] = getattr(session, op)(**request.get("args", {}))
        except ModelciError as exc:
            reply["error"] = {"code": exc.exit_code, "message": exc.message}
        except Exception as exc:
            traceback.print_exc()
            reply["crash"] = f"{type(exc).__name__}: {exc}"
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    # Keep the protocol on a private copy of stdout; point fd 1 at the log.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    signal.signal(signal.SIGTERM, _terminate)
    # The slow part, begun before the step has even read its settings.
    with collector_paused(freeze=True):
        import mlflow  # noqa: F401

    first = sys.stdin.readline()
    if not first:  # the step ended before it tracked anything
        return 0
    settings = json.loads(first)
    session = Session(
        Target(**settings["target"]), RetryPolicy(**settings["policy"]), dict(os.environ)
    )
    try:
        serve(session, sys.stdin, replies)
    finally:
        session.close()
    return 0


if __name__ == "__main__":  # pragma: no cover - run as the step's subprocess
    leave(main())
