"""Read a dataset (CSV or Parquet; a file, a folder of parts or a glob) into a pyarrow Table.

Bad input never reaches the user as a pyarrow traceback: every problem becomes one
``DataError`` line naming the file, the line where there is one, what is wrong and what to do.
pyarrow is fast but lenient (it reads an unterminated quote to the end of the file, keeps
undecodable bytes as a binary column, accepts duplicate or empty column names), so the
reader adds cheap checks around it and, only once something is known to be wrong, a slow
exact scan that finds the line.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import glob
import io
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modelci import progress as progress_bar
from modelci.data import digest as digests
from modelci.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["csv", "parquet"]
FormatOption = Literal["auto", "csv", "parquet"]

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
PARQUET_MAGIC = b"PAR1"
# Parquet with an encrypted footer ends with this instead of PAR1.
PARQUET_ENCRYPTED_MAGIC = b"PARE"
# Delimiters worth suggesting when a header comes out as one column.
_DELIMITER_CANDIDATES = (",", ";", "\t", "|")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_HEADER_PROBE = 1024 * 1024
_HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class Dataset:
    """A dataset as read: the data plus what identifies it."""

    table: pa.Table
    source: str
    files: tuple[Path, ...]
    format: Format
    digest: str

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)


# --------------------------------------------------------------------------- resolving


def resolve_files(spec: str | Path, format: FormatOption = "auto") -> tuple[list[Path], Format]:
    """The data files ``spec`` names, sorted, and their one format.

    ``spec`` is a file, a folder (searched recursively; names starting with ``.`` or ``_``,
    such as ``_SUCCESS`` or ``.part.crc``, are skipped) or a glob (``data/part-*.parquet``,
    ``data/**/*.parquet``).
    """
    files, _root = _resolve(spec, format)
    return files, _format_of(spec, files, format)


def _resolve(spec: str | Path, format: FormatOption) -> tuple[list[Path], Path | None]:
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


def _sniff(path: Path) -> Format | None:
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


def _format_of(spec: str | Path, files: list[Path], format: FormatOption) -> Format:
    if format != "auto":
        return format
    if len(files) == 1 and not Path(spec).is_dir():
        # A file named on its own with an unknown suffix is most likely delimited text.
        return _sniff(files[0]) or "csv"
    kinds: dict[Format, Path] = {}
    for file in files:
        kind = _sniff(file)
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


# --------------------------------------------------------------------------- reading


def read_dataset(
    spec: str | Path,
    *,
    format: FormatOption = "auto",
    delimiter: str = ",",
    encoding: str = "utf-8",
    columns: Sequence[str] | None = None,
    progress: bool | None = None,
    infer_types: bool = True,
) -> Dataset:
    """Read ``spec`` into a typed pyarrow Table, or raise one ``DataError`` line.

    ``columns`` limits the read to those columns (a missing one is an error). ``progress``
    forces the stderr bar on or off; by default it shows on a terminal outside CI for big
    reads. ``infer_types=False`` keeps every CSV value as the text it was (for comparing
    with other tools); Parquet keeps its stored types either way. A ``.tsv`` file read with
    the default ``','`` delimiter is read with tabs.
    """
    files, root = _resolve(spec, format)
    fmt = _format_of(spec, files, format)
    wanted = list(columns) if columns else None
    if len(delimiter) != 1:
        raise DataError(spec, f"the delimiter must be one character, got {delimiter!r}")
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise DataError(
            spec, f"unknown encoding {encoding!r}: use a Python codec name such as utf-8 or latin-1"
        ) from None
    if fmt == "parquet" and len(files) > 1:
        _check_part_schemas(files)
    total = sum(_size(file) for file in files)
    # Two passes per byte: the hash (with the cheap checks riding along) and the parse.
    bar = progress_bar.progress(2 * total, f"reading {spec}", force=progress)
    file_digests: dict[str, str] = {}
    tables: list[pa.Table] = []
    with bar:
        for file in files:
            if fmt == "csv":
                tsv = file.suffix.lower() == ".tsv" and delimiter == ","
                sep = "\t" if tsv else delimiter
                table, sha = _read_csv(file, sep, codec.name, wanted, infer_types, bar)
            else:
                table, sha = _read_parquet(file, wanted, root, bar)
            file_digests[digests.relative_name(file, root)] = sha
            tables.append(table)
    if len(files) == 1:
        digest = "sha256:" + next(iter(file_digests.values()))
    else:
        digest = digests.combine(file_digests)
    return Dataset(
        table=_concat(tables, files),
        source=str(spec),
        files=tuple(files),
        format=fmt,
        digest=digest,
    )


def _size(path: Path) -> int:
    with _os_errors(path):
        return path.stat().st_size


@contextlib.contextmanager
def _os_errors(path: Path) -> Iterator[None]:
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


def _ensure_readable(path: Path) -> None:
    # One early check, so every later open can assume access.
    with _os_errors(path), path.open("rb"):
        pass


class _Cancelled(Exception):
    pass


def _hash(
    path: Path,
    scan: _ByteScan | None,
    bar: progress_bar.NullProgress,
    stop: threading.Event | None = None,
) -> str:
    def on_chunk(chunk: bytes) -> None:
        if stop is not None and stop.is_set():
            raise _Cancelled
        if scan is not None:
            scan(chunk)
        bar.update(len(chunk))

    with _os_errors(path):
        return digests.file_sha256(path, on_chunk)


@contextlib.contextmanager
def _hashing(
    path: Path, scan: _ByteScan | None, bar: progress_bar.NullProgress
) -> Iterator[Future[str]]:
    """Hash ``path`` on a worker thread while the caller parses it.

    hashlib and file reads release the GIL, so the digest costs almost no wall time next
    to pyarrow's parse. If the caller fails first, the worker stops at its next chunk.
    """
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelci-digest") as pool:
        future = pool.submit(_hash, path, scan, bar, stop)
        try:
            yield future
        except BaseException:
            stop.set()
            raise


def _concat(tables: list[pa.Table], files: list[Path]) -> pa.Table:
    import pyarrow as pa

    if len(tables) == 1:
        return tables[0]
    first = tables[0]
    aligned = [first]
    for table, file in zip(tables[1:], files[1:], strict=True):
        if set(table.column_names) != set(first.column_names):
            missing = sorted(set(first.column_names) - set(table.column_names))
            extra = sorted(set(table.column_names) - set(first.column_names))
            raise DataError(
                file,
                f"has other columns than {files[0].name} (missing: {', '.join(missing) or '-'}; "
                f"extra: {', '.join(extra) or '-'}): every part needs the same columns",
            )
        aligned.append(table.select(first.column_names))
    try:
        # Only chunk lists are joined: no data is copied. "permissive" lets an all-empty
        # (null) CSV column or int/float parts meet; real conflicts still fail below.
        return pa.concat_tables(aligned, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    for table, file in zip(aligned[1:], files[1:], strict=True):
        for name in first.column_names:
            mine, theirs = table.schema.field(name).type, first.schema.field(name).type
            if mine != theirs:
                raise DataError(
                    file,
                    f"column {name!r} is {mine} here but {theirs} in {files[0].name}: "
                    "write every part with one schema",
                )
    raise DataError(
        files[0], "the parts cannot be combined into one table: write them with one schema"
    )


# --------------------------------------------------------------------------- CSV


class _ByteScan:
    """Facts gathered while the file is hashed: quote parity and whether any text exists."""

    def __init__(self, quote: bytes | None) -> None:
        self.quote = quote
        self.quotes = 0
        self.blank = True

    def __call__(self, chunk: bytes) -> None:
        if self.blank and chunk.strip():
            self.blank = False
        if self.quote is not None:
            self.quotes += chunk.count(self.quote)


def _read_csv(
    path: Path,
    delimiter: str,
    encoding: str,
    columns: list[str] | None,
    infer_types: bool,
    bar: progress_bar.NullProgress,
) -> tuple[pa.Table, str]:
    import pyarrow as pa

    if path.is_dir():
        raise DataError(path, "is a folder, not a CSV file: give the CSV file inside it")
    _ensure_readable(path)
    if _size(path) == 0:
        raise DataError(path, "is empty (0 bytes): export the data again, with a header line")
    ascii_compatible = "\n".encode(encoding) == b"\n" and '"'.encode(encoding) == b'"'
    scan = _ByteScan(b'"' if ascii_compatible else None)
    with _hashing(path, scan, bar) as hashed:
        if _blank_start(path):
            # Rare: only then is the whole scan needed before anything else.
            hashed.result()
            if scan.blank:
                raise DataError(
                    path, "holds only whitespace, no header and no rows: export the data again"
                )
        header, header_line = _read_header(path, delimiter, encoding)
        _check_header(path, header, header_line, delimiter)
        if columns is not None:
            _check_wanted(path, columns, header)
        table, failure = _parse_csv(path, delimiter, encoding, header, columns, infer_types)
        sha = hashed.result()
    if scan.quotes % 2:
        # An odd count of quote characters means a quote that never closes or one that
        # strays; pyarrow silently swallows the rest of the file into one value.
        problem = _scan_records(path, delimiter, encoding, len(header))
        if problem is not None:
            raise DataError(path, problem[1], line=problem[0])
    if table is None:
        table = _csv_error(path, failure or "", delimiter, encoding, header, columns)
    bar.update(_size(path))
    if any(pa.types.is_binary(field.type) for field in table.schema):
        # pyarrow keeps undecodable text as a binary column instead of failing.
        raise _undecodable(path, encoding)
    return table, sha


def _blank_start(path: Path) -> bool:
    with path.open("rb") as handle:
        return not handle.read(64 * 1024).strip()


def _parse_csv(
    path: Path,
    delimiter: str,
    encoding: str,
    header: list[str],
    columns: list[str] | None,
    infer_types: bool,
) -> tuple[pa.Table | None, str | None]:
    """pyarrow's parse: the table, or the text of its error for _csv_error to explain."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read_options = pacsv.ReadOptions(
        use_threads=True, encoding="utf8" if _is_utf8(encoding) else encoding
    )
    # Quoted values may hold line breaks (csv-spectrum's newlines.csv); this costs little.
    parse_options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = {
        "include_columns": columns,
        "column_types": None if infer_types else {name: pa.string() for name in header},
    }
    convert_options = pacsv.ConvertOptions(**{k: v for k, v in convert.items() if v is not None})
    try:
        # An input stream, not the path: pyarrow would otherwise un-gzip by file name,
        # and the checks look at the raw bytes.
        with pa.input_stream(str(path), compression=None) as stream:
            table = pacsv.read_csv(
                stream,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
    except UnicodeDecodeError:
        raise _undecodable(path, encoding) from None
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowTypeError) as error:
        return None, str(error)
    return table, None


def _read_header(path: Path, delimiter: str, encoding: str) -> tuple[list[str], int]:
    """The first non-blank record and its line number, decoded as pyarrow will."""
    with path.open("rb") as handle:
        head = handle.read(_HEADER_PROBE)
    # Cut at the last line break so a multibyte character is never split.
    cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
    if cut >= 0 and len(head) == _HEADER_PROBE:
        head = head[: cut + 1]
    try:
        text = head.decode(_python_codec(encoding))
    except UnicodeDecodeError:
        raise _undecodable(path, encoding) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    try:
        for record in reader:
            if record:
                return record, line + 1
            line = reader.line_num
    except csv.Error:
        pass
    return [], 1


def _check_header(path: Path, header: list[str], line: int, delimiter: str) -> None:
    if len(header) == 1:
        others = [c for c in _DELIMITER_CANDIDATES if c != delimiter and c in header[0]]
        if others:
            shown = "'\\t'" if others[0] == "\t" else f"'{others[0]}'"
            raise DataError(
                path,
                f"the header is one column named {header[0][:60]!r}, which contains {shown}: "
                f"the file seems to be delimited by {shown}; pass --delimiter {shown}",
                line=line,
            )
    empty = [str(i) for i, name in enumerate(header, 1) if not name.strip()]
    if empty:
        if len(header) > 1 and header[0].strip() and len(empty) == len(header) - 1:
            raise DataError(
                path,
                f"the first line names only one of {len(header)} columns: it looks like a "
                "title above the header; delete that line so the header comes first",
                line=line,
            )
        raise DataError(
            path,
            f"the header has no name for column(s) {', '.join(empty)}: name every column "
            "(a delimiter at the end of the header line leaves an empty name)",
            line=line,
        )
    seen: dict[str, int] = {}
    for index, name in enumerate(header, 1):
        if name in seen:
            raise DataError(
                path,
                f"column name {name!r} appears twice in the header (columns {seen[name]} and "
                f"{index}): rename one",
                line=line,
            )
        seen[name] = index
    if all(_NUMBER.fullmatch(name.strip()) for name in header):
        raise DataError(
            path,
            f"the first line holds only numbers ({', '.join(header[:4])}"
            f"{', ...' if len(header) > 4 else ''}), so the file seems to have no header: "
            "add a first line naming the columns",
            line=line,
        )


def _check_wanted(path: Path, wanted: Sequence[str], available: Sequence[str]) -> None:
    missing = [name for name in wanted if name not in available]
    if missing:
        listed = ", ".join(available[:20]) + (", ..." if len(available) > 20 else "")
        raise DataError(
            path,
            f"has no column {', '.join(repr(m) for m in missing)}; its columns are: {listed}",
        )


def _csv_error(
    path: Path,
    message: str,
    delimiter: str,
    encoding: str,
    header: list[str],
    columns: list[str] | None,
) -> pa.Table:
    """Turn a pyarrow CSV failure into a DataError, or recover where the file is valid."""
    import pyarrow as pa

    text = message.strip().splitlines()[0] if message.strip() else "unknown error"
    if "cannot infer number of columns" in text and header:
        # A header line without a final line break and no rows: valid, zero rows. pyarrow
        # types such columns null, as it does when the header ends with a line break.
        names = [n for n in header if columns is None or n in columns]
        return pa.table({name: pa.array([], pa.null()) for name in names})
    problem = _scan_records(path, delimiter, encoding, len(header))
    if problem is not None:
        raise DataError(path, problem[1], line=problem[0])
    text = re.sub(r"^CSV parse error: ", "", text)
    raise DataError(path, f"cannot be read as CSV: {text}")


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _python_codec(encoding: str) -> str:
    # pyarrow drops a UTF-8 byte order mark; the stdlib does so only with utf-8-sig.
    return "utf-8-sig" if _is_utf8(encoding) else encoding


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    # The stdlib refuses fields over 128 KiB by default; long quoted text is legitimate.
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _scan_records(
    path: Path, delimiter: str, encoding: str, expected: int
) -> tuple[int, str] | None:
    """Find the first bad record exactly: (line, message), or None if all are sound.

    Slow (pure Python), so it runs only once a cheap check or pyarrow has found trouble.
    Lines are physical lines as an editor numbers them, CR, LF and CRLF alike.
    """
    bad = _first_undecodable(path, encoding)
    if bad is not None:
        return bad
    header_seen = False
    start = 1
    with (
        _field_limit(2**31 - 1),
        path.open("r", encoding=_python_codec(encoding), newline="") as handle,
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


def _first_undecodable(path: Path, encoding: str) -> tuple[int, str] | None:
    """(line, message) of the first byte that is not valid ``encoding``, or None."""
    codec = _python_codec(encoding)
    line_breaks = "\n".encode(encoding) == b"\n"
    decoder = codecs.getincrementaldecoder(codec)("strict")
    line = 1
    carry = b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(digests.CHUNK)
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


def _undecodable(path: Path, encoding: str) -> DataError:
    found = _first_undecodable(path, encoding)
    if found is None:
        return DataError(path, f"is not valid {encoding} text: save it as UTF-8 or pass --encoding")
    line, message = found
    return DataError(path, message, line=line or None)


# --------------------------------------------------------------------------- Parquet


def _check_parquet_bytes(path: Path) -> None:
    _ensure_readable(path)
    size = _size(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
            handle.seek(max(size - len(PARQUET_MAGIC), 0))
            tail = handle.read(len(PARQUET_MAGIC))
    except OSError as error:
        raise DataError(path, f"cannot be read: {error.strerror}: check its permissions") from None
    if size == 0:
        raise DataError(path, "is empty (0 bytes): write the Parquet file again")
    if not head.startswith(PARQUET_MAGIC):
        looks = (
            "text, likely CSV: pass --format csv or rename it"
            if _is_text(head)
            else ("not Parquet: write it again with a Parquet writer")
        )
        raise DataError(
            path, f"is not a Parquet file (it does not start with PAR1; it looks like {looks})"
        )
    if tail == PARQUET_ENCRYPTED_MAGIC:
        raise DataError(path, "is an encrypted Parquet file, which modelci cannot read")
    if tail != PARQUET_MAGIC or size < 2 * len(PARQUET_MAGIC) + 4:
        raise DataError(
            path,
            "is truncated: the Parquet footer (ending in PAR1) is missing; copy or "
            "write the file again completely",
        )


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch >= 32 or ch in (9, 10, 13) for ch in head)


def _read_parquet(
    path: Path,
    columns: list[str] | None,
    root: Path | None,
    bar: progress_bar.NullProgress,
) -> tuple[pa.Table, str]:
    _check_parquet_bytes(path)
    partitions = _hive_partitions(path, root)
    with _hashing(path, None, bar) as hashed:
        table = _parquet_table(path, columns, partitions)
        sha = hashed.result()
    bar.update(_size(path))
    for name, value in partitions.items():
        if columns is not None and name not in columns:
            continue
        if name in table.column_names:
            raise DataError(
                path,
                f"column {name!r} is both in the file and a partition folder ({name}=...): "
                "rename one",
            )
        table = table.append_column(name, _partition_column(value, table.num_rows))
    return table, sha


def _check_part_schemas(files: list[Path]) -> None:
    """Refuse parts whose columns or types differ, from their footers, before reading data."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    first: dict[str, Any] | None = None
    for file in files:
        _check_parquet_bytes(file)
        try:
            schema = pq.read_schema(str(file))
        except (OSError, pa.ArrowException, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise DataError(
                file, f"is a corrupt Parquet file ({reason}): write or copy it again"
            ) from None
        fields = {field.name: field.type for field in schema}
        if first is None:
            first = fields
            continue
        if set(fields) != set(first):
            missing = sorted(set(first) - set(fields))
            extra = sorted(set(fields) - set(first))
            raise DataError(
                file,
                f"has other columns than {files[0].name} (missing: {', '.join(missing) or '-'}; "
                f"extra: {', '.join(extra) or '-'}): every part needs the same columns",
            )
        for name, kind in fields.items():
            if kind != first[name]:
                raise DataError(
                    file,
                    f"column {name!r} is {kind} here but {first[name]} in {files[0].name}: "
                    "write every part with one schema",
                )


def _parquet_table(
    path: Path, columns: list[str] | None, partitions: dict[str, str | None]
) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # pre_buffer=False: reading column chunk by column chunk keeps the compressed
        # copy of the whole file out of memory (peak RSS 2.3x -> 1.3x the table on 5M x 20).
        with pq.ParquetFile(str(path), pre_buffer=False, memory_map=False) as parquet:
            names = list(parquet.schema_arrow.names)
            wanted = None
            if columns is not None:
                _check_wanted(path, [c for c in columns if c not in partitions], names)
                wanted = [c for c in columns if c in names]
            table = parquet.read(columns=wanted, use_threads=True)
        # Structural check of lengths and offsets; cheap, unlike validate(full=True).
        table.validate()
    except DataError:
        raise
    except (OSError, pa.ArrowException, ValueError, IndexError, KeyError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(
            path, f"is a corrupt Parquet file ({reason}): write or copy it again"
        ) from None
    return table


def _hive_partitions(path: Path, root: Path | None) -> dict[str, str | None]:
    """``key=value`` folders between ``root`` and the file, as Hive, Spark and pyarrow write."""
    if root is None:
        return {}
    try:
        parts = path.parent.relative_to(root).parts
    except ValueError:
        return {}
    found: dict[str, str | None] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if sep and key:
            decoded = urllib.parse.unquote(value)
            found[urllib.parse.unquote(key)] = None if decoded == _HIVE_NULL else decoded
    return found


def _partition_column(value: str | None, rows: int) -> Any:
    import pyarrow as pa

    if value is None:
        # Null-typed, so it joins int or string parts of the same key when concatenated.
        return pa.nulls(rows)
    # Integer-looking partition values become int64, like pyarrow's hive discovery.
    scalar = pa.scalar(int(value)) if re.fullmatch(r"-?\d{1,18}", value) else pa.scalar(value)
    return pa.repeat(scalar, rows)
