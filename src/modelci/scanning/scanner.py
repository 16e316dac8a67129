"""``scan()``: a model file or folder in, a report out; nothing scanned is ever loaded."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from modelci.errors import InputError
from modelci.scanning.allowlist import DEFAULT_LOADERS, STATIC, Allowlist
from modelci.scanning.findings import Finding, Global, ScannedFile, ScanReport
from modelci.scanning.limits import Limits
from modelci.scanning.mlmodel import MLMODEL, check_mlmodel
from modelci.scanning.rules import Rule
from modelci.scanning.session import Session
from modelci.scanning.streams import CHUNK, Stream
from modelci.scanning.where import Where

PYTHON_SUFFIXES = (".py", ".pyw")


def scan(
    path: str | os.PathLike[str],
    *,
    allow: Iterable[Global] = (),
    loaders: Iterable[str] = (),
    limits: Limits | None = None,
) -> ScanReport:
    """Scan a model file, or every file under a folder, by content.

    ``allow`` extends the default allowlist (``scan.allow``); ``loaders`` extends the
    MLflow ``python_function.loader_module`` values trusted besides ``mlflow.sklearn``.
    A missing or unreadable path raises ``InputError``; a file that cannot be parsed is an
    error finding, never an exception. Symbolic links are reported, not followed.
    """
    given = Path(path)
    try:
        info = given.stat()
    except FileNotFoundError:
        raise InputError(
            f"{given}: no such file or folder; pass the model file or folder to scan"
        ) from None
    except OSError as exc:
        raise InputError(
            f"{given}: cannot be read ({exc.strerror}); check its permissions"
        ) from None
    session = Session(Allowlist(allow), limits or Limits())
    links: list[str] = []
    if stat.S_ISDIR(info.st_mode):
        root = given
        names = list(_walk(session, root, root, links))
    elif stat.S_ISREG(info.st_mode):
        root = given.parent
        names = [given.name]
    else:
        raise InputError(f"{given}: not a regular file or folder; pass the model file or folder")
    files: list[ScannedFile] = []
    formats: dict[str, str] = {}
    shadowable = _protected_modules()
    for rel in names:
        scanned = _scan_file(session, root, rel)
        if rel.endswith(PYTHON_SUFFIXES):
            _python_file(session, root, rel, shadowable)
            if scanned.format == "text":
                scanned = ScannedFile(scanned.path, "python", scanned.size, scanned.globals_seen)
        files.append(scanned)
        formats[rel] = scanned.format
    for rel in links:
        formats[rel] = "symlink"
        files.append(ScannedFile(rel, "symlink", 0))
    for rel in names:
        if PurePosixPath(rel).name == MLMODEL:
            check_mlmodel(session, root, rel, formats, DEFAULT_LOADERS | frozenset(loaders))
    return ScanReport(
        root=root,
        files=tuple(sorted(files, key=lambda f: f.path)),
        findings=tuple(sorted(session.findings, key=_finding_order)),
        allowed_globals=frozenset(session.allowed_seen),
    )


def _finding_order(f: Finding) -> tuple[str, str, int]:
    return (f.file, f.container or "", f.offset if f.offset is not None else -1)


# ---------------------------------------------------------------- walking the tree
def _walk(session: Session, root: Path, folder: Path, links: list[str]) -> Iterator[str]:
    """Relative posix paths of the regular files under ``folder``, sorted; symbolic links
    are reported (and added to ``links``), special files reported."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise InputError(
            f"{folder}: cannot be listed ({exc.strerror}); check its permissions"
        ) from None
    for entry in entries:
        path = Path(entry.path)
        rel = path.relative_to(root).as_posix()
        if entry.is_symlink():
            links.append(rel)
            _symlink(session, root, path, rel)
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(session, root, path, links)
        elif entry.is_file(follow_symlinks=False):
            yield rel
        else:
            session.report(
                Where(rel),
                Rule.SPECIAL_FILE,
                "a device, socket or FIFO in the model folder cannot be scanned; remove it",
            )


def _symlink(session: Session, root: Path, path: Path, rel: str) -> None:
    target = os.readlink(path)
    resolved = (path.parent / target).resolve()
    base = root.resolve()
    inside = resolved == base or base in resolved.parents
    if inside and resolved.exists():
        session.report(
            Where(rel),
            Rule.SYMLINK,
            f"symbolic link to {target}; not followed (its target is scanned where it lies)",
        )
    else:
        where = "outside the scanned folder" if resolved.exists() else "nowhere"
        session.report(
            Where(rel),
            Rule.SYMLINK_OUTSIDE,
            f"symbolic link to {target} points {where}: a loader would read what the scan "
            "never saw; replace it with the file",
        )


def _scan_file(session: Session, root: Path, rel: str) -> ScannedFile:
    path = root / rel
    session.begin_file()
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise InputError(
            f"{path}: cannot be read ({exc.strerror}); check its permissions"
        ) from None

    def opener() -> Stream:
        return Stream(_file_chunks(path), size=size)

    def seekable() -> IO[bytes]:
        return open(path, "rb")

    fmt = session.scan_stream(opener, Where(rel), seekable=seekable)
    return ScannedFile(rel, fmt, size, session.globals_seen)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


# ---------------------------------------------------------------- Python code
def _protected_modules() -> frozenset[str]:
    """Top-level modules a model's own Python files must not replace."""
    allowlisted = {g.module.split(".")[0] for g in STATIC}
    loaders = {name.split(".")[0] for name in DEFAULT_LOADERS}
    known = {"sklearn", "cloudpickle", "skops", "pandas", "pyarrow", "yaml", "modelci"}
    extra = {"sitecustomize", "usercustomize"}
    return frozenset(sys.stdlib_module_names) | allowlisted | loaders | known | extra


def _python_file(session: Session, root: Path, rel: str, protected: frozenset[str]) -> None:
    """Report Python code; an error when it could replace a module loading relies on."""
    parts = PurePosixPath(rel).parts
    names = {PurePosixPath(parts[-1]).stem} - {"__init__", "__main__"}
    # a folder is importable under its name only as a regular package (with __init__.py):
    # namespace packages never win over a module found elsewhere on sys.path
    for i in range(len(parts) - 1):
        if (root.joinpath(*parts[: i + 1]) / "__init__.py").is_file():
            names.add(parts[i])
    shadowed = sorted(names & protected)
    unnamed = sorted(n for n in names if not n.isidentifier())
    if unnamed:
        # no import statement can name it; only importlib or an unpickler's GLOBAL can
        session.report(
            Where(rel),
            Rule.MODULE_SHADOWING,
            f"Python code named {', '.join(unnamed)!s} can only be imported by a loader "
            "(importlib, a pickle GLOBAL), never by an import statement: rename or remove it",
        )
    elif shadowed:
        session.report(
            Where(rel),
            Rule.MODULE_SHADOWING,
            f"Python code named {', '.join(shadowed)} replaces that module when its folder "
            "is on sys.path (MLflow adds a model's code folder): rename it",
        )
    else:
        session.report(
            Where(rel),
            Rule.PYTHON_CODE,
            "Python code ships with the model and runs if the loader imports it; review it",
        )
