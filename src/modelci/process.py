"""Importing big libraries without the cyclic garbage collector.

Only the scanner uses this now (importing scikit-learn to list its estimators, and skops);
the train step imports what it needs as any Python program does.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Import big libraries without the cyclic garbage collector.

    Importing scikit-learn creates hundreds of thousands of objects, almost none of them
    garbage; the collector keeps walking them (about a tenth of the import time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
