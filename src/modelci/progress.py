"""A tiny progress bar on stderr for long reads.

It draws only where a person watches: stderr is a terminal and ``CI`` is unset (CI logs
would fill with carriage returns), unless the caller forces it on or off. Otherwise
``progress()`` hands back an object whose methods do nothing, so callers never branch.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

# Below this size a read finishes before a bar is worth drawing.
MIN_BYTES = 64 * 1024 * 1024
_WIDTH = 30
# Redrawing more often than this only costs time.
_REDRAW_SECONDS = 0.1


def enabled(force: bool | None = None, stream: TextIO | None = None) -> bool:
    """Whether a bar should be drawn: ``force`` wins; else a terminal outside CI."""
    if force is not None:
        return force
    out = stream if stream is not None else sys.stderr
    if os.environ.get("CI"):
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


class NullProgress:
    """Stands in when no bar is drawn: same interface, no output."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def update(self, n_bytes: int) -> None:
        return None


class Progress(NullProgress):
    """``with Progress(total, "reading") as bar: bar.update(n)`` draws ``label [###  ] 40%``."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._last_draw = 0.0
        # The digest worker and the parsing thread both report bytes.
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            with self._lock:
                self.done = self.total
                self._draw()
        # Leave the cursor on a fresh line whether the read finished or failed.
        self._stream.write("\n")
        self._stream.flush()

    def update(self, n_bytes: int) -> None:
        with self._lock:
            self.done = min(self.done + n_bytes, self.total)
            now = time.monotonic()
            if now - self._last_draw >= _REDRAW_SECONDS or self.done == self.total:
                self._draw()

    def _draw(self) -> None:
        self._last_draw = time.monotonic()
        fraction = self.done / self.total
        filled = int(_WIDTH * fraction)
        bar = "#" * filled + " " * (_WIDTH - filled)
        mib = self.total / (1024 * 1024)
        self._stream.write(f"\r{self.label} [{bar}] {fraction:4.0%} of {mib:.0f} MiB")
        self._stream.flush()


def progress(
    total: int,
    label: str,
    *,
    force: bool | None = None,
    stream: TextIO | None = None,
    min_bytes: int = MIN_BYTES,
) -> NullProgress:
    """A bar for ``total`` bytes when one should be drawn, else a no-op object.

    ``force=True`` draws even for small reads or off a terminal; ``force=False`` never draws.
    """
    if force is None and total < min_bytes:
        return NullProgress()
    if not enabled(force, stream):
        return NullProgress()
    return Progress(total, label, stream)
