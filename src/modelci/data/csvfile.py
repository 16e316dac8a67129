"""Read one CSV file into a pyarrow Table, with cheap checks around pyarrow's parse.

pyarrow is fast but lenient (it reads an unterminated quote to the end of the file, keeps
undecodable bytes as a binary column, accepts duplicate or empty column names), so the
header is checked first, the quote count rides along with the digest, and only once
something is known to be wrong does csvscan find the line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelci import progress as progress_bar
from modelci.data.csvscan import is_utf8, python_codec, scan_records, undecodable
from modelci.data.digest import hashing
from modelci.data.files import check_wanted, ensure_readable, file_size
from modelci.errors import DataError, first_line

if TYPE_CHECKING:
    import pyarrow as pa

# Delimiters worth suggesting when a header comes out as one column.
_DELIMITER_CANDIDATES = (",", ";", "\t", "|")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_HEADER_PROBE = 1024 * 1024
#: pyarrow parses blocks of this size (its default) ...
_MIN_BLOCK = 1024 * 1024
#: ... or, for wide rows, of this many rows, up to _MAX_BLOCK: every block becomes one
#: chunk per column, and checks, hashing and drift pay per chunk
_BLOCK_ROWS = 4096
_MAX_BLOCK = 64 * 1024 * 1024
#: cell texts read as null in every column by default: the empty cell and the markers R,
#: pandas, Excel and databases write for a missing value (pyarrow's list for numbers)
DEFAULT_NULL_VALUES = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "n/a",
    "nan",
    "null",
)


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: what separates, encodes and stands for a missing value."""

    delimiter: str = ","
    encoding: str = "utf-8"
    #: these cell texts (quoted or not) are null in every column, text ones included
    null_values: tuple[str, ...] = DEFAULT_NULL_VALUES
    #: False keeps every value as the text it was, "" and "NA" included
    infer_types: bool = True


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


def read_csv(
    path: Path,
    dialect: CsvDialect,
    columns: list[str] | None,
    bar: progress_bar.NullProgress,
) -> tuple[pa.Table, str]:
    import pyarrow as pa

    delimiter, encoding = dialect.delimiter, dialect.encoding
    if path.is_dir():
        raise DataError(path, "is a folder, not a CSV file: give the CSV file inside it")
    ensure_readable(path)
    if file_size(path) == 0:
        raise DataError(path, "is empty (0 bytes): export the data again, with a header line")
    ascii_compatible = "\n".encode(encoding) == b"\n" and '"'.encode(encoding) == b'"'
    scan = _ByteScan(b'"' if ascii_compatible else None)
    with hashing(path, scan, bar) as hashed:
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
            check_wanted(path, columns, header)
        table, failure = _parse_csv(path, dialect, header, columns)
        sha = hashed.result()
    if scan.quotes % 2:
        # An odd count of quote characters means a quote that never closes or one that
        # strays; pyarrow silently swallows the rest of the file into one value.
        problem = scan_records(path, delimiter, encoding, len(header))
        if problem is not None:
            raise DataError(path, problem[1], line=problem[0])
    if table is None:
        table = _csv_error(path, failure or "", delimiter, encoding, header, columns)
    bar.update(file_size(path))
    if any(pa.types.is_binary(field.type) for field in table.schema):
        # pyarrow keeps undecodable text as a binary column instead of failing.
        raise undecodable(path, encoding)
    return table, sha


def _blank_start(path: Path) -> bool:
    with path.open("rb") as handle:
        return not handle.read(64 * 1024).strip()


def _parse_csv(
    path: Path,
    dialect: CsvDialect,
    header: list[str],
    columns: list[str] | None,
) -> tuple[pa.Table | None, str | None]:
    """pyarrow's parse: the table, or the first line of its error for _csv_error to explain."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding = dialect.encoding
    read_options = pacsv.ReadOptions(
        use_threads=True,
        encoding="utf8" if is_utf8(encoding) else encoding,
        block_size=_block_size(path),
    )
    # Quoted values may hold line breaks (csv-spectrum's newlines.csv); this costs little.
    parse_options = pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True)
    convert: dict[str, object] = {"include_columns": columns}
    if dialect.infer_types:
        # pyarrow reads an empty text cell as "", so `nullable: false` would never fire and
        # a model would learn a class ''; missing is missing whatever the column's type
        convert["null_values"] = list(dialect.null_values)
        convert["strings_can_be_null"] = True
        convert["quoted_strings_can_be_null"] = True
    else:
        convert["column_types"] = {name: pa.string() for name in header}
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
        raise undecodable(path, encoding) from None
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowTypeError) as error:
        return None, first_line(error)
    return table, None


def _block_size(path: Path) -> int:
    """Bytes per parse block: about _BLOCK_ROWS rows, as the first MiB measures them.

    With pyarrow's 1 MiB blocks a 6,000-column file of 38 KB rows becomes 19 chunks of 26
    rows per column (114,000 chunks), and everything after the read slows with the count.
    """
    with path.open("rb") as handle:
        head = handle.read(_HEADER_PROBE)
    lines = head.count(b"\n") or head.count(b"\r")
    row = len(head) / lines if lines else _MAX_BLOCK
    return int(min(max(row * _BLOCK_ROWS, _MIN_BLOCK), _MAX_BLOCK))


def _read_header(path: Path, delimiter: str, encoding: str) -> tuple[list[str], int]:
    """The first non-blank record and its line number, decoded as pyarrow will."""
    with path.open("rb") as handle:
        head = handle.read(_HEADER_PROBE)
    # Cut at the last line break so a multibyte character is never split.
    cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
    if cut >= 0 and len(head) == _HEADER_PROBE:
        head = head[: cut + 1]
    try:
        text = head.decode(python_codec(encoding))
    except UnicodeDecodeError:
        raise undecodable(path, encoding) from None
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

    text = message or "unknown error"
    if "cannot infer number of columns" in text and header:
        # A header line without a final line break and no rows: valid, zero rows. pyarrow
        # types such columns null, as it does when the header ends with a line break.
        names = [n for n in header if columns is None or n in columns]
        return pa.table({name: pa.array([], pa.null()) for name in names})
    problem = scan_records(path, delimiter, encoding, len(header))
    if problem is not None:
        raise DataError(path, problem[1], line=problem[0])
    text = re.sub(r"^CSV parse error: ", "", text)
    raise DataError(path, f"cannot be read as CSV: {text}")
