"""Process-level speed: leaving fast, importing big libraries without the collector.

Leaving the process: everything a normal exit does that anyone can observe, without the
interpreter's teardown.

After a train step the interpreter holds MLflow, SQLAlchemy, pandas, pyarrow and
scikit-learn. Tearing those modules down (clearing thousands of module dicts, collecting
their object graphs, finalising extension modules) takes most of a second and has no effect
outside the process. :func:`leave` keeps every observable part of ``sys.exit`` in its order:
non-daemon threads (and thread pools) are joined, ``atexit`` callbacks run (MLflow flushes
its asynchronous logging there, ``tempfile`` removes folders), the standard streams are
flushed, and the exit code is the one given. Then the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn


def leave(code: int) -> NoReturn:
    """Exit with ``code`` as ``sys.exit(code)`` would, minus the interpreter teardown."""
    # Both are what the interpreter itself calls at exit; a Python without them exits slowly.
    join_threads = getattr(threading, "_shutdown", None)
    run_exit_callbacks = getattr(atexit, "_run_exitfuncs", None)
    if join_threads is None or run_exit_callbacks is None:  # pragma: no cover - not CPython
        sys.exit(code)
    join_threads()
    run_exit_callbacks()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away (`modelci ... | head`) is not worth a traceback at exit.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@contextlib.contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Import big libraries without the cyclic garbage collector.

    Importing MLflow or scikit-learn creates hundreds of thousands of objects, almost none
    of them garbage; the collector keeps walking them (about a tenth of the import time).
    With ``freeze`` (for a process that exists to do one job) what is alive afterwards is
    moved out of the collector's sight, so later collections only walk what the job
    allocates; a process that runs many jobs must not, or their cycles would never be freed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
