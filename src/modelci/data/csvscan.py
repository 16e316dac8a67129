"""The exact, slow scan of a CSV file that finds the line of a problem.

It runs only once a cheap check or pyarrow has found trouble: pure Python, record by
record, so the message can name the physical line an editor shows.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path

from modelci.digests import CHUNK
from modelci.errors import DataError


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def python_codec(encoding: str) -> str:
    # pyarrow drops a UTF-8 byte order mark; the stdlib does so only with utf-8-sig.
    return "utf-8-sig" if is_utf8(encoding) else encoding


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    # The stdlib refuses fields over 128 KiB by default; long quoted text is legitimate.
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def scan_records(
    path: Path, delimiter: str, encoding: str, expected: int
) -> tuple[int, str] | None:
    """Find the first bad record exactly: (line, message), or None if all are sound.

    Slow (pure Python), so it runs only once a cheap check or pyarrow has found trouble.
    Lines are physical lines as an editor numbers them, CR, LF and CRLF alike.
    """
    bad = first_undecodable(path, encoding)
    if bad is not None:
        return bad
    header_seen = False
    start = 1
    with (
        _field_limit(2**31 - 1),
        path.open("r", encoding=python_codec(encoding), newline="") as handle,
    ):
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            for record in reader:
                line, start = start, reader.line_num + 1
                if not record:
                    continue
                if not header_seen:
                    header_seen = True
                    continue
                if len(record) != expected:
                    return line, _ragged_message(len(record), expected, line)
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                return start, (
                    "a quoted value that starts on this line is never closed: add the closing "
                    'quote (a quote inside a value is written twice: "")'
                )
            return reader.line_num, (
                "stray quote: text follows the closing quote of a value; quote the whole "
                'value and write each quote inside it twice ("")'
            )
    return None


def _ragged_message(got: int, expected: int, line: int) -> str:
    hint = (
        "unquoted delimiters inside a value, or a missing one"
        if got != 1 or expected == 1
        else "a short or broken row"
    )
    if line == 2 and expected == 1:
        hint = "the first line may be a title above the real header; delete it"
    fields = "field" if got == 1 else "fields"
    return f"this row has {got} {fields} but the header has {expected}: fix the row ({hint})"


def first_undecodable(path: Path, encoding: str) -> tuple[int, str] | None:
    """(line, message) of the first byte that is not valid ``encoding``, or None."""
    codec = python_codec(encoding)
    line_breaks = "\n".encode(encoding) == b"\n"
    decoder = codecs.getincrementaldecoder(codec)("strict")
    line = 1
    carry = b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            block = carry + chunk
            if chunk:
                # Decode whole lines only, so a character is never split across reads.
                cut = max(block.rfind(b"\n"), block.rfind(b"\r")) if line_breaks else -1
                if cut < 0:
                    carry = block
                    continue
                block, carry = block[: cut + 1], block[cut + 1 :]
            try:
                decoder.decode(block, final=not chunk)
            except UnicodeDecodeError as error:
                before = block[: error.start]
                line += _count_lines(before) if line_breaks else 0
                byte = block[error.start : error.start + 1].hex()
                # Excel's "Unicode text" export is UTF-16 with a byte order mark.
                utf16 = line == 1 and block.startswith((b"\xff\xfe", b"\xfe\xff"))
                example = "utf-16" if utf16 else "latin-1"
                return line if line_breaks else 0, (
                    f"holds bytes that are not valid {encoding} (0x{byte}): save the file as "
                    f"UTF-8, or pass its real encoding, e.g. --encoding {example}"
                )
            line += _count_lines(block) if line_breaks else 0
            if not chunk:
                return None


def _count_lines(data: bytes) -> int:
    # Line breaks the way an editor counts them: LF, CRLF and a lone CR each end a line.
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def undecodable(path: Path, encoding: str) -> DataError:
    found = first_undecodable(path, encoding)
    if found is None:
        return DataError(path, f"is not valid {encoding} text: save it as UTF-8 or pass --encoding")
    line, message = found
    return DataError(path, message, line=line or None)
