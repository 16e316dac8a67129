"""How far the scanner goes before it calls a file a bomb."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one scanned file can cause; going past one is a finding.

    The defaults hold models of several GiB: decompressed bytes count once per decoded
    stream, so a 3 GiB joblib file compressed with zlib scans; a 1 KiB zip that claims
    petabytes does not exhaust memory or time.
    """

    #: bytes decoded (decompressed, or read from an archive member) per top-level file
    max_decoded_bytes: int = 8 * GIB
    #: containers inside containers (zip in zip, pickle in a compressed stream, ...)
    max_depth: int = 8
    #: members of one archive
    max_members: int = 100_000
    #: bytes of one embedded bytes constant probed for a nested pickle
    max_embedded_probe: int = 64 * 1024**2

    def __post_init__(self) -> None:
        for name in ("max_decoded_bytes", "max_depth", "max_members", "max_embedded_probe"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
