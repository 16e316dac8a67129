"""Bounded byte streams: a file, an archive member or a decompressor, read forward only.

``pickletools.genops`` reads its argument with ``read(n)`` and ``readline()``, trusting the
length a pickle states. Every stream here caps what one read can allocate (at the file's
remaining size, or at the decoded-byte budget), so a 20-byte pickle claiming a 16 GiB
bytes object, or a 1 KiB zlib stream that inflates forever, becomes a finding instead of
memory exhaustion.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Protocol

CHUNK = 1024 * 1024


class LimitExceeded(Exception):
    """A scan limit was reached (decoded bytes, depth, members)."""


class Unsupported(Exception):
    """A recognised format this process cannot decode (e.g. lz4 without its module)."""


class Budget:
    """Decoded bytes one top-level file may still produce."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise LimitExceeded(
                f"decoding produced more than {self.limit} bytes (limits.max_decoded_bytes)"
            )

    def check(self, n: int) -> None:
        """Refuse up front a read that could only succeed past the budget."""
        if self.used + n > self.limit:
            raise LimitExceeded(
                f"a read of {n} bytes would pass {self.limit} decoded bytes "
                "(limits.max_decoded_bytes)"
            )


class Stream:
    """A forward-only byte stream over chunks, with ``tell`` in decoded bytes.

    ``read``, ``readline`` and ``tell`` are what ``pickletools.genops`` needs; ``peek``
    and ``skip`` are what the joblib array handling needs.
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        budget: Budget | None = None,
        size: int | None = None,
    ) -> None:
        self._chunks = chunks
        self._budget = budget
        #: bytes left when the length is known (a file): caps a read without touching it
        self._size = size
        self._buf = b""
        self._i = 0
        self._base = 0
        self._eof = False

    @classmethod
    def of_bytes(cls, data: bytes) -> Stream:
        return cls(iter((data,)), size=len(data))

    @classmethod
    def of_file(cls, handle: IO[bytes], size: int | None = None) -> Stream:
        return cls(iter(lambda: handle.read(CHUNK), b""), size=size)

    def tell(self) -> int:
        return self._base + self._i

    def _available(self) -> int:
        return len(self._buf) - self._i

    def _fill(self, need: int) -> None:
        """Make ``need`` bytes available if the stream has them."""
        if self._available() >= need or self._eof:
            return
        parts = [self._buf[self._i :]]
        have = len(parts[0])
        while have < need:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._eof = True
                break
            if not chunk:
                continue
            if self._budget is not None:
                self._budget.take(len(chunk))
            parts.append(chunk)
            have += len(chunk)
        self._base += self._i
        self._buf = b"".join(parts)
        self._i = 0

    def _cap(self, n: int) -> int:
        """The most a read of ``n`` may return; raises when the budget cannot hold it."""
        if self._size is not None:
            return max(0, min(n, self._size - self.tell()))
        if self._budget is not None and n > self._available():
            self._budget.check(n - self._available())
        return n

    def read(self, n: int = -1) -> bytes:
        i = self._i
        if 0 <= n <= len(self._buf) - i:
            # the common case (one opcode byte, a short argument): already buffered, so
            # already within the file's size and the budget
            self._i = i + n
            return self._buf[i : i + n]
        if n is None or n < 0:
            n = self._size - self.tell() if self._size is not None else 1 << 62
        n = self._cap(n)
        self._fill(n)
        out = self._buf[self._i : self._i + n]
        self._i += len(out)
        return out

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes ahead, without consuming them."""
        n = self._cap(n)
        self._fill(n)
        return self._buf[self._i : self._i + n]

    def readline(self) -> bytes:
        searched = 0  # bytes past the read position already searched for a newline
        while True:
            end = self._buf.find(b"\n", self._i + searched)
            if end >= 0:
                out = self._buf[self._i : end + 1]
                self._i = end + 1
                return out
            searched = self._available()
            if self._size is not None and self.tell() + searched >= self._size:
                return self.read()
            self._fill(searched + CHUNK)
            if self._available() == searched:
                return self.read()

    def skip(self, n: int) -> int:
        """Consume ``n`` bytes without keeping them; returns how many there were."""
        done = 0
        while done < n:
            if self._available() == 0:
                self._fill(min(CHUNK, n - done))
                if self._available() == 0:
                    break
            step = min(self._available(), n - done)
            self._i += step
            done += step
        return done

    def at_eof(self) -> bool:
        return not self.peek(1)


class _Decompressor(Protocol):
    """The incremental API bz2, lzma and lz4.frame share (zlib is adapted to it)."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Zlib:
    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return self._d.decompress(self._d.unconsumed_tail + data, max(max_length, 0))


def _lz4() -> _Decompressor:
    try:
        import lz4.frame
    except ImportError:
        raise Unsupported("lz4 compression needs the lz4 module: pip install lz4") from None
    decompressor: _Decompressor = lz4.frame.LZ4FrameDecompressor()
    return decompressor


#: compression name -> (the magic a new stream starts with, a decompressor factory)
DECODERS: dict[str, tuple[bytes, Callable[[], _Decompressor]]] = {
    "zlib": (b"", lambda: _Zlib(zlib.MAX_WBITS)),
    "gzip": (b"\x1f\x8b", lambda: _Zlib(16 + zlib.MAX_WBITS)),
    "bz2": (b"BZh", bz2.BZ2Decompressor),
    "xz": (b"\xfd7zXZ\x00", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)),
    "lzma": (b"", lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE)),
    "lz4": (b"\x04\x22\x4d\x18", _lz4),
}


def inflate(name: str, raw: Stream) -> Iterator[bytes]:
    """Decompressed chunks of ``raw``; a stream that stops short or is followed by bytes
    that are not another stream of the same kind raises ``ValueError``."""
    magic, factory = DECODERS[name]
    decompressor = factory()
    pending = b""
    while True:
        if decompressor.eof:
            rest = decompressor.unused_data or raw.read(CHUNK)
            if not rest:
                return
            if not magic or not rest.startswith(magic):
                raise ValueError(f"{len(rest)}+ bytes follow the end of the {name} stream")
            decompressor, pending = factory(), rest
            continue
        if decompressor.needs_input:
            data = pending or raw.read(CHUNK)
            pending = b""
            if not data:
                raise ValueError(f"the {name} stream ends before its end marker")
        else:
            data = b""
        try:
            out = decompressor.decompress(data, CHUNK)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, RuntimeError) as exc:
            raise ValueError(f"{name}: {exc}") from None
        if out:
            yield out
