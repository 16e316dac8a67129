"""Where a stream sits: the file of the scanned tree and the containers opened to reach it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Where:
    #: path relative to the scanned root, with ``/`` separators
    file: str
    #: containers opened from the file to this stream: ``("zlib",)``, ``("a.zip", "b.pkl")``
    chain: tuple[str, ...] = ()

    def child(self, label: str) -> Where:
        return Where(self.file, (*self.chain, label))

    @property
    def depth(self) -> int:
        return len(self.chain)

    @property
    def container(self) -> str | None:
        """``model.joblib > zlib``: None for the file's own bytes."""
        return " > ".join((self.file, *self.chain)) if self.chain else None
