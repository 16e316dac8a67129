"""Read a dataset (CSV or Parquet; a file, a folder of parts or a glob) into a pyarrow Table.

Bad input never reaches the user as a pyarrow traceback: every problem becomes one
``DataError`` line naming the file, the line where there is one, what is wrong and what to do.
The seams: ``files`` finds the files and their format, ``csvfile`` (with ``csvscan`` for
exact line numbers) and ``parquetfile`` read one file each, ``digest`` hashes it alongside;
this module joins the parts into one :class:`Dataset`.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelci import digests
from modelci import progress as progress_bar
from modelci.data.csvfile import DEFAULT_NULL_VALUES, CsvDialect, read_csv
from modelci.data.files import Format, FormatOption, file_size, format_of, resolve
from modelci.data.parquetfile import check_part_schemas, read_parquet
from modelci.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa


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


def read_dataset(
    spec: str | Path,
    *,
    format: FormatOption = "auto",
    delimiter: str = ",",
    encoding: str = "utf-8",
    columns: Sequence[str] | None = None,
    progress: bool | None = None,
    infer_types: bool = True,
    null_values: Sequence[str] = DEFAULT_NULL_VALUES,
) -> Dataset:
    """Read ``spec`` into a typed pyarrow Table, or raise one ``DataError`` line.

    ``columns`` limits the read to those columns (a missing one is an error). ``progress``
    forces the stderr bar on or off; by default it shows on a terminal outside CI for big
    reads. ``null_values`` are the CSV cell texts read as null in every column, text
    columns included (the empty cell among them by default). ``infer_types=False`` keeps
    every CSV value as the text it was (for comparing with other tools); Parquet keeps its
    stored types either way. A ``.tsv`` file read with the default ``','`` delimiter is read
    with tabs.
    """
    files, root = resolve(spec, format)
    fmt = format_of(spec, files, format)
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
        check_part_schemas(files)
    total = sum(file_size(file) for file in files)
    # Two passes per byte: the hash (with the cheap checks riding along) and the parse.
    bar = progress_bar.progress(2 * total, f"reading {spec}", force=progress)
    file_digests: dict[str, str] = {}
    tables: list[pa.Table] = []
    with bar:
        for file in files:
            if fmt == "csv":
                tsv = file.suffix.lower() == ".tsv" and delimiter == ","
                dialect = CsvDialect(
                    delimiter="\t" if tsv else delimiter,
                    encoding=codec.name,
                    null_values=tuple(null_values),
                    infer_types=infer_types,
                )
                table, sha = read_csv(file, dialect, wanted, bar)
            else:
                table, sha = read_parquet(file, wanted, root, bar)
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
