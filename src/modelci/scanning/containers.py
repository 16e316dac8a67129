"""Containers of other streams: zip archives (npz, skops, torch-like) and .npy arrays."""

from __future__ import annotations

import ast
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from modelci.scanning.findings import Global
from modelci.scanning.pickles import walk_pickles
from modelci.scanning.rules import Rule
from modelci.scanning.streams import CHUNK, LimitExceeded, Stream, Unsupported
from modelci.scanning.where import Where

if TYPE_CHECKING:
    from modelci.scanning.session import Session

#: numpy refuses larger .npy headers by default (max_header_size); so does the scanner
_MAX_NPY_HEADER = 1024 * 1024
_MAX_SCHEMA = 256 * 1024 * 1024
_ENCRYPTED = 0x1


def scan_zip(session: Session, handle: IO[bytes], where: Where, *, path: Path | None = None) -> str:
    """Scan every member of a zip archive by content; a skops file also by its schema."""
    try:
        archive = zipfile.ZipFile(handle)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        session.report(where, Rule.UNPARSEABLE, f"the zip archive cannot be read ({exc})")
        return "zip"
    with archive:
        if len(infos) > session.limits.max_members:
            session.report(
                where,
                Rule.LIMIT_EXCEEDED,
                f"the archive has {len(infos)} members, more than "
                f"{session.limits.max_members} (limits.max_members)",
            )
            return "zip"
        names = {info.filename for info in infos}
        skops = "schema.json" in names
        npz = bool(infos) and all(i.filename.endswith(".npy") for i in infos if not i.is_dir())
        for info in infos:
            if info.is_dir():
                continue
            child = where.child(info.filename)
            if info.flag_bits & _ENCRYPTED:
                session.report(
                    child,
                    Rule.UNSUPPORTED,
                    f"archive member {info.filename} is encrypted and cannot be scanned",
                    offset=info.header_offset,
                )
                continue
            session.scan_stream(_member_opener(session, archive, info), child)
        if skops:
            check_skops(session, archive, where, path=path, handle=handle)
            return "skops"
    return "npz" if npz else "zip"


def _member_opener(session: Session, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    def opener() -> Stream:
        try:
            member = archive.open(info)
        except NotImplementedError as exc:  # a compression method zipfile lacks
            raise Unsupported(f"archive member {info.filename}: {exc}") from None
        return Stream(_chunks(member), budget=session.budget)

    return opener


def _chunks(member: IO[bytes]) -> Iterator[bytes]:
    with member:
        while chunk := member.read(CHUNK):
            yield chunk


# ---------------------------------------------------------------- skops
def check_skops(
    session: Session,
    archive: zipfile.ZipFile,
    where: Where,
    *,
    path: Path | None,
    handle: IO[bytes],
) -> None:
    """Check every type a skops file names against the allowlist.

    Two readings, both required: our walk of schema.json takes every (__module__,
    __class__) pair, including the types skops itself trusts by default (its trust list is
    not ours); skops' own ``get_untrusted_types`` is asked too, so a node kind whose types
    our walk would miss still shows up.
    """
    at = where.child("schema.json")
    info = archive.getinfo("schema.json")
    if info.file_size > _MAX_SCHEMA:
        session.report(at, Rule.LIMIT_EXCEEDED, f"schema.json holds {info.file_size} bytes")
        return
    try:
        with archive.open(info) as member:
            schema = json.loads(member.read(_MAX_SCHEMA + 1))
    except (ValueError, OSError, zipfile.BadZipFile, RecursionError) as exc:
        session.report(at, Rule.UNPARSEABLE, f"schema.json is not JSON ({exc})")
        return
    named: dict[Global, int] = {}
    for g in _schema_types(schema):
        named[g] = named.get(g, 0) + 1
    allowed = {g for g in named if session.allows(g)}
    session.saw_globals(sum(named.values()), allowed)
    for g in sorted(set(named) - allowed):
        times = f" ({named[g]} times)" if named[g] > 1 else ""
        session.report(
            at,
            Rule.UNSAFE_GLOBAL,
            f"skops schema names {g}{times}, which is not on the allowlist; skops.io.load "
            f"imports it. If you trust it, add '{g}' to scan.allow",
            global_=g,
        )
    reported = {g.dotted for g in named}
    for dotted in _skops_untrusted(session, at, path=path, handle=handle):
        if dotted in reported or session.allow.names_dotted(dotted):
            continue
        module, _, name = dotted.rpartition(".")
        g = Global(module, name)
        session.report(
            at,
            Rule.UNSAFE_GLOBAL,
            f"skops lists {dotted} as an untrusted type and it is not on the allowlist. If "
            f"you trust it, add '{g}' to scan.allow",
            global_=g,
        )


def _schema_types(node: Any, depth: int = 0) -> Iterator[Global]:
    if depth > 2000:
        raise LimitExceeded("schema.json nests deeper than 2000 levels")
    if isinstance(node, dict):
        module, cls = node.get("__module__"), node.get("__class__")
        if isinstance(module, str) and isinstance(cls, str):
            yield Global(module, cls)
            content = node.get("content")
            if node.get("__loader__") == "MethodNode" and isinstance(content, dict):
                func = content.get("func")
                if isinstance(func, str):
                    yield Global(module, f"{cls}.{func}")
        elif "__module__" in node or "__class__" in node:
            yield Global(str(module), str(cls))
        for value in node.values():
            yield from _schema_types(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_types(value, depth + 1)


def _skops_untrusted(
    session: Session, at: Where, *, path: Path | None, handle: IO[bytes]
) -> list[str]:
    from modelci.process import collector_paused

    try:
        with collector_paused():
            import skops.io
    except ImportError:
        raise Unsupported("checking a skops file needs skops: pip install skops") from None
    try:
        if path is not None:
            listed: list[str] = skops.io.get_untrusted_types(file=path)
        else:
            handle.seek(0)
            listed = skops.io.get_untrusted_types(data=handle.read())
    except Exception as exc:  # skops refuses a schema it cannot read: so do we
        session.report(
            at,
            Rule.UNPARSEABLE,
            f"skops cannot list the file's types ({type(exc).__name__}: {str(exc)[:160]})",
        )
        return []
    return listed


# ---------------------------------------------------------------- .npy
def scan_npy(session: Session, stream: Stream, where: Where) -> str:
    """Read a .npy header; an object array's data is a pickle numpy.load would unpickle."""
    magic = stream.read(8)
    major = magic[6] if len(magic) == 8 else 0
    if major == 1:
        size = int.from_bytes(stream.read(2), "little")
    elif major in (2, 3):
        size = int.from_bytes(stream.read(4), "little")
    else:
        session.report(where, Rule.UNPARSEABLE, f"unknown .npy format version {major}", offset=6)
        return "npy"
    if size > _MAX_NPY_HEADER:
        session.report(where, Rule.UNPARSEABLE, f"the .npy header claims {size} bytes", offset=8)
        return "npy"
    raw = stream.read(size)
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin-1"))
        hasobject = _descr_has_object(header["descr"])
    except Exception as exc:  # literal_eval: SyntaxError, ValueError, MemoryError, ...
        session.report(
            where,
            Rule.UNPARSEABLE,
            f"the .npy header cannot be read ({type(exc).__name__})",
            offset=8,
        )
        return "npy"
    if not hasobject:
        return "npy"
    start = stream.tell()
    session.report(
        where,
        Rule.NESTED_PICKLE,
        f"object-dtype .npy: its data from byte {start} is a pickle that "
        "numpy.load(allow_pickle=True) unpickles (scanned)",
        offset=start,
    )
    walk_pickles(session, stream, where.child(f"object data at byte {start}"))
    return "npy+pickle"


def _descr_has_object(descr: Any) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list):
        return any(
            _descr_has_object(field[1])
            for field in descr
            if isinstance(field, tuple) and len(field) >= 2
        )
    raise ValueError(f"descr {descr!r} is neither a type string nor a list of fields")
