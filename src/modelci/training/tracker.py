"""The train step's MLflow operations, seen from the step: in a worker process, or in this one.

With two usable CPUs or more, :func:`running` hands the operations to
:mod:`modelci.training.tracker_worker`, started before the step imports scikit-learn (or
even earlier by the command, with :func:`prestarted`), so the two halves of a tracked fit
(the model's libraries, MLflow's) load side by side. With one CPU the two would only take
turns, and a second interpreter costs more than it saves, so the operations run here
(``train.tracking.worker`` chooses: ``auto``, ``always``, ``never``).

Either way operations are sent by name and answered in order, and :meth:`Tracker.submit`
sends one without waiting, so the run can be created while the model fits. Errors keep their
meaning: a modelci error is raised with its message and exit code (a bad command output is
exit 2, an unreachable server exit 3), anything unforeseen is :class:`TrackerCrashed` after
its traceback went to the log, and a worker that died is an
:class:`~modelci.errors.InfraError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from modelci.errors import GateFailed, InfraError, InputError, ModelciError
from modelci.registry.connection import RetryPolicy
from modelci.registry.location import Location

if TYPE_CHECKING:
    from modelci.training.session import Session

#: how long a worker may take to finish its queued operations once told to stop
CLOSE_TIMEOUT = 120.0
ERRORS: dict[int, type[ModelciError]] = {1: GateFailed, 2: InputError, 3: InfraError}
OPERATIONS = frozenset(
    {"start", "log", "log_model", "command_model", "download", "finish", "ready", "fail"}
)
#: cgroup v2's CPU quota of this process's container ("max 100000" when unlimited)
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


class TrackerCrashed(RuntimeError):
    """An operation failed in a way modelci did not foresee (its traceback is in the log)."""


# --- the protocol: one reply per request, encoded where it ran, decoded where it was asked ---


def dispatch(session: Session, op: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """Run one operation and encode its outcome as a reply."""
    from modelci.registry import connection

    try:
        if op not in OPERATIONS:
            raise ValueError(f"unknown tracking operation {op!r}")
        with connection.infra_errors(session.target):
            return {"ok": getattr(session, op)(**args)}
    except ModelciError as exc:
        return {"error": {"code": exc.exit_code, "message": exc.message}}
    except Exception as exc:
        traceback.print_exc()
        return {"crash": f"{type(exc).__name__}: {exc}"}


def answer(reply: Mapping[str, Any]) -> Any:
    """The value of a reply, or its error raised."""
    if "error" in reply:
        error = reply["error"]
        raise ERRORS.get(int(error["code"]), InputError)(str(error["message"]))
    if "crash" in reply:
        raise TrackerCrashed(f"MLflow tracking failed: {reply['crash']}")
    return reply.get("ok")


class Tracker:
    """Operations by name, answered in order."""

    def __init__(self) -> None:
        self.sent = 0
        self._replies: dict[int, dict[str, Any]] = {}

    def submit(self, op: str, **args: Any) -> int:
        """Send an operation; its answer is collected by :meth:`result`."""
        ticket = self.sent
        self.sent += 1
        self._send(ticket, op, args)
        return ticket

    def result(self, ticket: int) -> Any:
        """The answer to ``ticket`` (answers are kept, so asking twice raises twice)."""
        while ticket not in self._replies:
            self._receive()
        return answer(self._replies[ticket])

    def call(self, op: str, **args: Any) -> Any:
        return self.result(self.submit(op, **args))

    def _send(self, ticket: int, op: str, args: dict[str, Any]) -> None:
        raise NotImplementedError

    def _receive(self) -> None:
        raise NotImplementedError


class LocalTracker(Tracker):
    """The operations in this process, each run as it is submitted."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._warm = False

    def _send(self, ticket: int, op: str, args: dict[str, Any]) -> None:
        if not self._warm:
            # MLflow loads with the first operation, so bad settings and data (checked
            # before it) fail without it, as they do with a worker.
            from modelci.process import collector_paused

            with collector_paused():
                self.session.warm_up()
            self._warm = True
        self._replies[ticket] = dispatch(self.session, op, args)

    def _receive(self) -> None:  # pragma: no cover - every reply exists once submitted
        raise RuntimeError("no such tracking operation was submitted")


class WorkerTracker(Tracker):
    """The operations in the worker process, read back from its protocol pipe."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        super().__init__()
        self._process = process

    def _send(self, ticket: int, op: str, args: dict[str, Any]) -> None:
        self._write(json.dumps({"id": ticket, "op": op, "args": args}))

    def _write(self, line: str) -> None:
        stdin = _pipe(self._process.stdin)
        try:
            stdin.write(line + "\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):
            raise self._died() from None

    def _receive(self) -> None:
        line = _pipe(self._process.stdout).readline()
        if not line:
            raise self._died()
        try:
            reply = json.loads(line)
            self._replies[int(reply["id"])] = reply
        except (ValueError, TypeError, KeyError):
            # Printed to stdout before the worker could point it at the log (a
            # sitecustomize, say): it belongs in the log, not the protocol.
            sys.stderr.write(line)

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


# --- choosing and running -------------------------------------------------------------------


@contextlib.contextmanager
def running(target: Location, policy: RetryPolicy, mode: str = "auto") -> Iterator[Tracker]:
    """A tracker for the duration of the block: a worker when ``mode`` (and, for ``auto``,
    the CPUs) say so, else this process."""
    if mode == "always" or (mode == "auto" and usable_cpus() > 1):
        with _worker(target, policy) as tracker:
            yield tracker
        return
    _discard_waiting()
    with _local(target, policy) as local:
        yield local


@contextlib.contextmanager
def _worker(target: Location, policy: RetryPolicy) -> Iterator[WorkerTracker]:
    """The worker :func:`prestarted` started, or a new one: closed when the block ends,
    stopped at once if the block fails before anything was sent to it."""
    process = _waiting.pop() if _waiting else _spawn()
    tracker = WorkerTracker(process)
    try:
        tracker._write(json.dumps({"target": asdict(target), "policy": asdict(policy)}))
        yield tracker
    except BaseException as exc:
        if tracker.sent == 0 or isinstance(exc, KeyboardInterrupt):
            _stop(process)
        else:
            tracker._close()
        raise
    tracker._close()


@contextlib.contextmanager
def _local(target: Location, policy: RetryPolicy) -> Iterator[LocalTracker]:
    from modelci.training.session import Session

    session = Session(target, policy, dict(os.environ))
    try:
        yield LocalTracker(session)
    finally:
        session.close()


def usable_cpus(cgroup: Path = CGROUP_CPU_MAX) -> float:
    """CPUs this process may use: its affinity, capped by a container's CPU quota."""
    try:
        count: float = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        count = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = cgroup.read_text(encoding="ascii").split()[:2]
        if quota != "max":
            count = min(count, int(quota) / int(period))
    return count


#: workers started by :func:`prestarted` and not yet taken by a step
_waiting: list[subprocess.Popen[str]] = []


@contextlib.contextmanager
def prestarted() -> Iterator[None]:
    """Start a worker now for a train step later in the block (when the CPUs make a worker
    worth it; the step's settings may still decide otherwise).

    A command knows it will train before it has read its settings; the worker it starts
    here begins importing MLflow at once and learns where to track from the step. A worker
    no step took is stopped when the block ends.
    """
    if usable_cpus() <= 1:
        yield
        return
    process = _spawn()
    _waiting.append(process)
    try:
        yield
    finally:
        if process in _waiting:
            _waiting.remove(process)
            _stop(process)


def _discard_waiting() -> None:
    while _waiting:
        _stop(_waiting.pop())


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
