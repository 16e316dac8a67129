"""What a stream is, from its first bytes: the name of a file never decides it."""

from __future__ import annotations

import pickletools
import zlib
from enum import StrEnum


class Kind(StrEnum):
    PICKLE = "pickle"
    ZIP = "zip"
    NPY = "npy"
    GZIP = "gzip"
    BZ2 = "bz2"
    XZ = "xz"
    LZMA = "lzma"
    ZLIB = "zlib"
    LZ4 = "lz4"
    JOBLIB_COMPAT = "joblib-zfile"
    NATIVE = "native"
    BYTECODE = "python-bytecode"
    EMPTY = "empty"
    #: no magic: a protocol 0/1 pickle, text, or an unknown binary (decided by parsing)
    OTHER = "other"


COMPRESSIONS = (Kind.GZIP, Kind.BZ2, Kind.XZ, Kind.LZMA, Kind.ZLIB, Kind.LZ4)

#: every byte that starts a pickle opcode
OPCODE_BYTES = frozenset(op.code.encode("latin-1")[0] for op in pickletools.opcodes)

_NATIVE_MAGIC = (
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)


def sniff(head: bytes) -> Kind:
    """The kind of stream ``head`` (its first bytes, 64 or more when there are) opens."""
    if not head:
        return Kind.EMPTY
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return Kind.ZIP
    if head.startswith(b"\x93NUMPY"):
        return Kind.NPY
    # PROTO opcode: every pickle of protocol 2 and later starts with it
    if head[0] == 0x80 and len(head) > 1 and head[1] <= 5:
        return Kind.PICKLE
    if head.startswith(b"\x1f\x8b"):
        return Kind.GZIP
    if head.startswith(b"BZh") and len(head) > 3 and head[3:4].isdigit():
        return Kind.BZ2
    if head.startswith(b"\xfd7zXZ\x00"):
        return Kind.XZ
    if head.startswith(b"\x04\x22\x4d\x18"):
        return Kind.LZ4
    # joblib < 0.10 wrote "ZF" and a hex length before a zlib stream
    if head.startswith(b"ZF") and _inflates(zfile_payload(head)):
        return Kind.JOBLIB_COMPAT
    # two weak magics: confirmed by decoding the first bytes
    zlib_header = len(head) > 1 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0
    if zlib_header and _inflates(head):
        return Kind.ZLIB
    # joblib takes any file starting 5d 00 for lzma: so does the scanner, if it decodes
    if head.startswith(b"\x5d\x00") and _lzma_alone(head):
        return Kind.LZMA
    if head.startswith(_NATIVE_MAGIC) or (head.startswith(b"MZ") and _pe(head)):
        return Kind.NATIVE
    if (
        len(head) >= 4
        and head[2:4] == b"\r\n"
        and 3000 <= int.from_bytes(head[:2], "little") < 4000
    ):
        return Kind.BYTECODE
    return Kind.OTHER


#: joblib < 0.10: "ZF", the hex length padded to 19 characters, sometimes one space
ZFILE_HEADER = 21


def zfile_payload(head: bytes) -> bytes:
    rest = head[ZFILE_HEADER:]
    return rest[1:] if rest.startswith(b" ") else rest


def _inflates(head: bytes) -> bool:
    try:
        zlib.decompressobj().decompress(head[:4096], 1)
    except zlib.error:
        return False
    return True


def _lzma_alone(head: bytes) -> bool:
    import lzma

    try:
        lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(head[:4096], 1)
    except lzma.LZMAError:
        return False
    return True


def _pe(head: bytes) -> bool:
    # a PE file holds the offset of its "PE\0\0" header at 0x3c
    if len(head) < 0x40:
        return False
    offset = int.from_bytes(head[0x3C:0x40], "little")
    return head[offset : offset + 4] == b"PE\x00\x00" if offset + 4 <= len(head) else False


def looks_like_text(head: bytes) -> bool:
    """UTF-8 without NUL bytes (a cut multi-byte character at the end is fine)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
