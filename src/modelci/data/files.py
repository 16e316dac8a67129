"""The data files a dataset spec names, their one format, and the operating system's refusals.

A spec is a file, a folder of parts or a glob. Everything here looks at names and a few
bytes only; reading the content is csvfile's and parquetfile's business.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from modelci.errors import DataError

Format = Literal["csv", "parquet"]
FormatOption = Literal["auto", "csv", "parquet"]

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
PARQUET_MAGIC = b"PAR1"


def resolve_files(spec: str | Path, format: FormatOption = "auto") -> tuple[list[Path], Format]:
    """The data files ``spec`` names, sorted, and their one format.

    ``spec`` is a file, a folder (searched recursively; names starting with ``.`` or ``_``,
    such as ``_SUCCESS`` or ``.part.crc``, are skipped) or a glob (``data/part-*.parquet``,
    ``data/**/*.parquet``).
    """
    files, _root = resolve(spec, format)
    return files, format_of(spec, files, format)


def resolve(spec: str | Path, format: FormatOption) -> tuple[list[Path], Path | None]:
    if format not in ("auto", "csv", "parquet"):
        raise DataError(spec, f"unknown format {format!r}: use auto, csv or parquet")
    try:
        return _resolve_spec(spec)
    except PermissionError:
        raise DataError(
            spec,
            "cannot be reached: permission denied on a folder in its path; give the user "
            "running modelci access to it",
        ) from None


def _resolve_spec(spec: str | Path) -> tuple[list[Path], Path | None]:
    text = str(spec)
    path = Path(spec)
    if path.is_dir():
        files = _folder_files(path)
        if not files:
            raise DataError(
                spec,
                "is a folder with no data files in it (names starting with '.' or '_' are "
                "skipped): point at the CSV or Parquet file itself, or at the folder of parts",
            )
        return files, path
    if path.is_file():
        return [path], None
    if glob.has_magic(text):
        base = _glob_base(text)
        matches = sorted(
            Path(match)
            for match in glob.glob(text, recursive=True)
            if Path(match).is_file() and not _is_hidden(Path(match), base)
        )
        if not matches:
            raise DataError(
                spec,
                "the pattern matches no files: check the folder and the pattern, and quote "
                "it so the shell does not expand it",
            )
        return matches, base
    if path.exists():
        raise DataError(spec, "is neither a regular file nor a folder: give a CSV or Parquet file")
    raise DataError(
        spec,
        f"no such file or folder (looked in {Path.cwd()}): check the path, or run "
        "the step where the data is",
    )


def _folder_files(folder: Path) -> list[Path]:
    found: list[Path] = []

    def refuse(error: OSError) -> None:
        raise DataError(error.filename or folder, f"cannot list the folder: {error.strerror}")

    for dirpath, dirnames, filenames in os.walk(folder, onerror=refuse):
        # Spark and Hadoop leave _temporary/, _SUCCESS and .crc files beside the parts.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        found.extend(Path(dirpath, name) for name in filenames if not name.startswith((".", "_")))
    for path in found:
        if path.exists() and not path.is_file():
            # reading a FIFO would wait for a writer forever
            raise DataError(
                path, "is neither a regular file nor a folder: remove it from the data folder"
            )
    return sorted(found)


def _glob_base(pattern: str) -> Path:
    """The folder a glob starts from: its leading components without wildcards."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path()


def _is_hidden(path: Path, base: Path) -> bool:
    try:
        parts = path.relative_to(base).parts
    except ValueError:
        parts = (path.name,)
    return any(part.startswith((".", "_")) for part in parts)


def sniff(path: Path) -> Format | None:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    try:
        with path.open("rb") as handle:
            head = handle.read(len(PARQUET_MAGIC))
    except OSError as error:
        raise DataError(path, f"cannot be read: {error.strerror}: check its permissions") from None
    return "parquet" if head == PARQUET_MAGIC else None


def format_of(spec: str | Path, files: list[Path], format: FormatOption) -> Format:
    if format != "auto":
        return format
    if len(files) == 1 and not Path(spec).is_dir():
        # A file named on its own with an unknown suffix is most likely delimited text.
        return sniff(files[0]) or "csv"
    kinds: dict[Format, Path] = {}
    for file in files:
        kind = sniff(file)
        if kind is None:
            raise DataError(
                file,
                "is neither CSV (.csv/.tsv/.txt) nor Parquet (.parquet/.pq, or PAR1 bytes): "
                "remove it, or select the data files with a glob such as 'folder/*.parquet'",
            )
        kinds.setdefault(kind, file)
    if len(kinds) > 1:
        raise DataError(
            spec,
            f"mixes CSV ({kinds['csv'].name}) and Parquet ({kinds['parquet'].name}) files: "
            "select one format, e.g. with a glob such as 'folder/*.parquet'",
        )
    return next(iter(kinds))


def file_size(path: Path) -> int:
    with os_errors(path):
        return path.stat().st_size


@contextlib.contextmanager
def os_errors(path: Path) -> Iterator[None]:
    """Turn the operating system's refusals to open or read ``path`` into one-line errors."""
    try:
        yield
    except PermissionError:
        raise DataError(
            path, "cannot be read: permission denied; give the user running modelci read access"
        ) from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a data file") from None
    except OSError as error:
        raise DataError(path, f"cannot be read: {error.strerror}") from None


def ensure_readable(path: Path) -> None:
    # One early check, so every later open can assume access.
    with os_errors(path), path.open("rb"):
        pass


def check_wanted(path: Path, wanted: Sequence[str], available: Sequence[str]) -> None:
    missing = [name for name in wanted if name not in available]
    if missing:
        listed = ", ".join(available[:20]) + (", ..." if len(available) > 20 else "")
        raise DataError(
            path,
            f"has no column {', '.join(repr(m) for m in missing)}; its columns are: {listed}",
        )
