"""One scan's state, and the dispatch of a stream to its scanner by content."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from typing import IO

from modelci.scanning import containers
from modelci.scanning.allowlist import Allowlist
from modelci.scanning.findings import Finding, Global
from modelci.scanning.limits import Limits
from modelci.scanning.pickles import walk_pickles
from modelci.scanning.rules import Rule
from modelci.scanning.sniff import (
    COMPRESSIONS,
    OPCODE_BYTES,
    ZFILE_HEADER,
    Kind,
    looks_like_text,
    sniff,
)
from modelci.scanning.streams import CHUNK, Budget, LimitExceeded, Stream, Unsupported, inflate
from modelci.scanning.where import Where

#: bytes read ahead to decide what a stream is
SNIFF_BYTES = 4096
#: nested archives up to this size are held in memory; larger ones go to a temporary file
_SPOOL_IN_MEMORY = 64 * 1024 * 1024

Opener = Callable[[], Stream]


class Session:
    """Collects findings and globals across the files of one scan."""

    def __init__(self, allow: Allowlist, limits: Limits) -> None:
        self.allow = allow
        self.limits = limits
        self.findings: list[Finding] = []
        self.allowed_seen: set[Global] = set()
        self.budget = Budget(limits.max_decoded_bytes)
        self.globals_seen = 0
        self._reported: set[tuple[object, ...]] = set()

    def begin_file(self) -> None:
        """Each top-level file gets its own decoded-byte budget and globals count."""
        self.budget = Budget(self.limits.max_decoded_bytes)
        self.globals_seen = 0

    # -- what walkers call
    def allows(self, g: Global) -> bool:
        return g in self.allow

    def saw_globals(self, count: int, allowed: Iterable[Global]) -> None:
        self.globals_seen += count
        self.allowed_seen.update(allowed)

    def report(
        self,
        where: Where,
        rule: Rule,
        message: str,
        *,
        offset: int | None = None,
        opcode: str | None = None,
        global_: Global | None = None,
    ) -> None:
        message = " ".join(message.split())
        key = (where, rule, offset, opcode, global_, message)
        if key in self._reported:
            return
        self._reported.add(key)
        self.findings.append(
            Finding(
                file=where.file,
                rule=rule.value,
                severity=rule.severity,
                message=message,
                offset=offset,
                opcode=opcode,
                global_=global_,
                container=where.container,
            )
        )

    # -- dispatch by content
    def scan_stream(
        self,
        opener: Opener,
        where: Where,
        *,
        seekable: Callable[[], IO[bytes]] | None = None,
    ) -> str:
        """Scan one stream by what its bytes are; return the format it turned out to be.

        ``seekable`` opens the same bytes as a seekable file (a file on disk): zip archives
        need one, and it lets a non-zip file be checked for a zip hidden at its end.
        """
        if where.depth > self.limits.max_depth:
            self.report(
                where,
                Rule.LIMIT_EXCEEDED,
                f"containers nest deeper than {self.limits.max_depth} (limits.max_depth)",
            )
            return "too deep"
        try:
            return self._dispatch(opener, where, seekable)
        except LimitExceeded as exc:
            self.report(where, Rule.LIMIT_EXCEEDED, str(exc))
            return "over limits"
        except Unsupported as exc:
            self.report(where, Rule.UNSUPPORTED, str(exc))
            return "unsupported"
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
            # a decompressor or archive member that breaks part-way
            self.report(where, Rule.UNPARSEABLE, f"{type(exc).__name__}: {str(exc)[:200]}")
            return "unparseable"

    def _dispatch(
        self, opener: Opener, where: Where, seekable: Callable[[], IO[bytes]] | None
    ) -> str:
        stream = opener()
        head = stream.peek(SNIFF_BYTES)
        kind = sniff(head)
        if kind is Kind.ZIP:
            if seekable is not None:
                with seekable() as handle:
                    return containers.scan_zip(self, handle, where)
            with _Spool(stream) as handle:
                return containers.scan_zip(self, handle, where)
        fmt = self._scan_kind(kind, head, stream, opener, where)
        if seekable is not None:
            with seekable() as handle:
                self._check_polyglot(handle, where, fmt)
        return fmt

    def _scan_kind(
        self, kind: Kind, head: bytes, stream: Stream, opener: Opener, where: Where
    ) -> str:
        if kind is Kind.EMPTY:
            return "empty"
        if kind is Kind.PICKLE:
            outcome = walk_pickles(self, stream, where)
            return "joblib" if outcome.joblib else "pickle"
        if kind is Kind.NPY:
            return containers.scan_npy(self, stream, where)
        if kind in COMPRESSIONS or kind is Kind.JOBLIB_COMPAT:
            return self._scan_compressed(kind, opener, where)
        if kind is Kind.NATIVE:
            self.report(
                where,
                Rule.NATIVE_CODE,
                "a native executable or shared library (ELF, Mach-O or PE) ships with the "
                "model; remove it",
                offset=0,
            )
            return "native"
        if kind is Kind.BYTECODE:
            self.report(
                where,
                Rule.NATIVE_CODE,
                "compiled Python bytecode ships with the model; Python imports it instead "
                "of reviewable source: remove it (and __pycache__ folders)",
                offset=0,
            )
            return "python-bytecode"
        # no magic: a protocol 0/1 pickle, text, or some other binary
        if head[0] in OPCODE_BYTES:
            probe = walk_pickles(self, stream, where, probe=True)
            if probe.acts or _c_reads_on(opener, probe.failed_at):
                outcome = walk_pickles(self, opener(), where)
                return "joblib" if outcome.joblib else "pickle"
        if looks_like_text(head):
            return "text"
        self.report(
            where,
            Rule.UNKNOWN_BINARY,
            "a binary file of no format the scanner knows; make sure nothing loads it",
            offset=0,
        )
        return "unknown"

    def _scan_compressed(self, kind: Kind, opener: Opener, where: Where) -> str:
        codec = "zlib" if kind is Kind.JOBLIB_COMPAT else kind.value

        def inner() -> Stream:
            raw = opener()
            if kind is Kind.JOBLIB_COMPAT:
                raw.skip(ZFILE_HEADER)
                if raw.peek(1) == b" ":
                    raw.skip(1)
            return Stream(inflate(codec, raw), budget=self.budget)

        fmt = self.scan_stream(inner, where.child(kind.value))
        return f"{kind.value}+{fmt}"

    def _check_polyglot(self, handle: IO[bytes], where: Where, fmt: str) -> None:
        try:
            is_zip = zipfile.is_zipfile(handle)
        except OSError:
            return
        if not is_zip:
            return
        self.report(
            where,
            Rule.POLYGLOT,
            f"the file is a {fmt} file and also a zip archive (read from its end): zip "
            "readers such as skops or torch see other content; the zip view is scanned too",
        )
        handle.seek(0)
        containers.scan_zip(self, handle, where.child("zip view"))

    # -- bytes constants inside a pickle
    def scan_embedded(self, data: bytes, where: Where) -> None:
        """Scan a bytes constant that holds a whole pickle, archive or compressed stream."""
        if where.depth > self.limits.max_depth or len(data) > self.limits.max_embedded_probe:
            return
        kind = sniff(data[:SNIFF_BYTES])
        if kind is Kind.PICKLE:
            view = Stream.of_bytes(data)
            probe = walk_pickles(self, view, where, probe=True)
            if not (probe.pickles and probe.error is None and view.at_eof()):
                return
        elif kind is Kind.ZIP:
            if not zipfile.is_zipfile(io.BytesIO(data)):
                return
        elif kind in COMPRESSIONS:
            decoded = _decode_whole(kind.value, data, self.limits.max_embedded_probe)
            if decoded is None or sniff(decoded[:SNIFF_BYTES]) not in (Kind.PICKLE, Kind.ZIP):
                return
        else:
            return
        self.report(
            where,
            Rule.NESTED_PICKLE,
            f"a bytes constant holds a whole {kind.value} stream ({len(data)} bytes); "
            "it was scanned",
        )
        self.scan_stream(lambda: Stream.of_bytes(data), where, seekable=lambda: io.BytesIO(data))


def _c_reads_on(opener: Opener, at: int | None) -> bool:
    """Whether the unpickler would go on where pickletools stopped the probe.

    The C unpickler reads INT and LONG arguments in any base Python accepts (``0x1F``,
    ``0o17``); pickletools only in decimal. A stream that stops the probe only there is a
    pickle a loader reads on, so it is scanned as one (and fails closed).
    """
    if at is None:
        return False
    stream = opener()
    stream.skip(at)
    line = stream.readline()
    if line[:1] not in (b"I", b"L"):
        return False
    text = line[1:].strip()
    if line[:1] == b"L" and text.endswith(b"L"):
        text = text[:-1]
    try:
        int(text.decode("ascii"), 0)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _decode_whole(codec: str, data: bytes, limit: int) -> bytes | None:
    """The whole decompressed content, or None when it is not a clean stream."""
    out = bytearray()
    try:
        for chunk in inflate(codec, Stream.of_bytes(data)):
            out += chunk
            if len(out) > limit:
                return None
    except (ValueError, Unsupported):
        return None
    return bytes(out)


class _Spool:
    """A nested archive copied to a seekable file (memory first, then disk)."""

    def __init__(self, stream: Stream) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        while chunk := stream.read(CHUNK):
            self._file.write(chunk)
        self._file.seek(0)

    def __enter__(self) -> IO[bytes]:
        return self._file

    def __exit__(self, *exc: object) -> None:
        self._file.close()
