"""``train.timeout``: the seconds the whole train step may take, a ``train.command`` included.

The limit is a real-time timer (``SIGALRM``) in the step's process. When it fires,
:class:`Expired` is raised wherever the step is: it is a ``BaseException`` so that no
library's ``except Exception`` swallows it, and it unwinds like Ctrl-C does, so the team's
command is stopped with its process group (:mod:`modelci.training.script`), the MLflow run
is marked ``KILLED`` and staging is removed. :func:`limit` then turns it into the one-line
exit-2 error that names ``train.timeout``.

Python runs signal handlers between bytecodes of the main thread: a single long call into
compiled code (one big ``fit``) is interrupted when it returns to Python.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

from modelci.errors import InputError

SETTING = "train.timeout"


class Expired(BaseException):
    """The train step ran out of time."""


def _expire(signum: int, frame: FrameType | None) -> None:
    raise Expired


class Timer:
    """The running limit of a step; :meth:`cancel` it once the step has committed (recorded
    what it did), so expiring cannot interrupt the recording it must finish."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds

    def cancel(self) -> None:
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextlib.contextmanager
def limit(seconds: float | None, where: str = SETTING) -> Iterator[Timer]:
    """Run the block within ``seconds`` (``None``: no limit); ``where`` names the setting."""
    timer = Timer(seconds)
    if not seconds:
        yield timer
        return
    if threading.current_thread() is not threading.main_thread():
        raise InputError(
            f"{where}: a time limit needs modelci to run in the main thread; unset "
            f"{SETTING} here and limit the job instead"
        )
    previous = signal.signal(signal.SIGALRM, _expire)
    # A timer someone else set (a test runner's, say) is put back, less the time spent here.
    earlier, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        try:
            yield timer
        finally:
            timer.cancel()
    except Expired:
        raise InputError(
            f"{where}: the train step ran past {SETTING} ({seconds:g} s) and was stopped; "
            f"raise {SETTING} or make training faster"
        ) from None
    finally:
        signal.signal(signal.SIGALRM, previous)
        if earlier > 0:
            left = max(earlier - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, interval)
