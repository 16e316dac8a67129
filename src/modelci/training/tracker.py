"""The tracking worker, seen from the train step.

:meth:`Tracker.running` starts :mod:`modelci.training.tracker_worker` before the step
imports scikit-learn (or takes the one a command started even earlier with
:func:`prestarted`), so the two halves of a tracked fit (the model's libraries, MLflow's)
load side by side. Operations are sent by name and answered in order; :meth:`submit` sends
one without waiting, so the run can be created while the model fits.

Errors keep their meaning across the boundary: a modelci error in the worker is raised
here with its message and exit code (a bad command output is exit 2, an unreachable server
exit 3), a crash is raised as :class:`TrackerCrashed` after the worker printed its
traceback to the log, and a worker that died is an :class:`~modelci.errors.InfraError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from modelci.errors import GateFailed, InfraError, InputError, ModelciError
from modelci.training.tracking import RetryPolicy, Target

#: how long a worker may take to finish its queued operations once told to stop
CLOSE_TIMEOUT = 120.0
ERRORS: dict[int, type[ModelciError]] = {1: GateFailed, 2: InputError, 3: InfraError}


class TrackerCrashed(RuntimeError):
    """An operation failed in a way modelci did not foresee (the worker logged the traceback)."""


class Tracker:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self._next = 0
        self._replies: dict[int, dict[str, Any]] = {}

    @classmethod
    @contextlib.contextmanager
    def running(cls, target: Target, policy: RetryPolicy) -> Iterator[Tracker]:
        """A worker for the duration of the block (the one :func:`prestarted` started, if
        any): closed when it ends, stopped at once if the block fails before anything was
        sent to it."""
        process = _waiting.pop() if _waiting else _spawn()
        tracker = cls(process)
        settings = {"target": asdict(target), "policy": asdict(policy)}
        try:
            tracker._write(json.dumps(settings))
            yield tracker
        except BaseException as exc:
            if tracker._next == 0 or isinstance(exc, KeyboardInterrupt):
                _stop(process)
            else:
                tracker._close()
            raise
        tracker._close()

    def submit(self, op: str, **args: Any) -> int:
        """Send an operation; its answer is collected by :meth:`result`."""
        ticket = self._next
        self._next += 1
        self._write(json.dumps({"id": ticket, "op": op, "args": args}))
        return ticket

    def _write(self, line: str) -> None:
        stdin = _pipe(self._process.stdin)
        try:
            stdin.write(line + "\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):
            raise self._died() from None

    def result(self, ticket: int) -> Any:
        """The answer to ``ticket`` (answers are kept, so asking twice raises twice)."""
        stdout = _pipe(self._process.stdout)
        while ticket not in self._replies:
            line = stdout.readline()
            if not line:
                raise self._died()
            try:
                reply = json.loads(line)
                self._replies[int(reply["id"])] = reply
            except (ValueError, TypeError, KeyError):
                # Printed to stdout before the worker could point it at the log (a
                # sitecustomize, say): it belongs in the log, not the protocol.
                sys.stderr.write(line)
        reply = self._replies[ticket]
        if "error" in reply:
            error = reply["error"]
            raise ERRORS.get(int(error["code"]), InputError)(str(error["message"]))
        if "crash" in reply:
            raise TrackerCrashed(f"MLflow tracking failed: {reply['crash']}")
        return reply.get("ok")

    def call(self, op: str, **args: Any) -> Any:
        return self.result(self.submit(op, **args))

    # --- ending -------------------------------------------------------------------------------

    def _close(self) -> None:
        """End of input: the worker finishes what it was sent, then exits."""
        with contextlib.suppress(OSError, ValueError):
            _pipe(self._process.stdin).close()
        try:
            self._process.wait(timeout=CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            _stop(self._process)
        _release(self._process)

    def _died(self) -> InfraError:
        code = self._process.wait()
        return InfraError(
            f"the MLflow tracking worker stopped unexpectedly (exit code {code}); "
            "its messages above say why"
        )


#: workers started by :func:`prestarted` and not yet taken by a step
_waiting: list[subprocess.Popen[str]] = []


@contextlib.contextmanager
def prestarted() -> Iterator[None]:
    """Start a worker now for a train step later in the block.

    A command knows it will train before it has read its settings; the worker it starts
    here begins importing MLflow at once and learns where to track from the step. A worker
    no step took is stopped when the block ends.
    """
    process = _spawn()
    _waiting.append(process)
    try:
        yield
    finally:
        if process in _waiting:
            _waiting.remove(process)
            _stop(process)


def _spawn() -> subprocess.Popen[str]:
    env = dict(os.environ)
    # The worker imports this very modelci, wherever it was imported from.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "modelci.training.tracker_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
        encoding="utf-8",
    )


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop a worker that has nothing to finish (SIGTERM lets it clean up)."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _release(process)


def _release(process: subprocess.Popen[str]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError, ValueError):
                pipe.close()


def _pipe(pipe: IO[str] | None) -> IO[str]:
    if pipe is None:  # pragma: no cover - Popen was given PIPE for both
        raise RuntimeError("tracking worker started without pipes")
    return pipe
