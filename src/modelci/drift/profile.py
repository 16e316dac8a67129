"""Reference profiles: the reference statistics computed once, saved, and reused without the data.

A numeric column keeps its exact compressed empirical distribution (sorted unique values
and counts), so KS, Wasserstein, PSI and Jensen–Shannon against a profile equal the values
against the raw reference. A categorical column keeps its value counts.

File format (version 1): a NumPy ``.npz`` archive (a zip of ``.npy`` arrays, read with
``allow_pickle=False`` so loading never runs code) holding

- ``meta``: UTF-8 JSON as uint8 — ``{"format": "modelci-profile", "version": 1, "created",
  "source", "digest", "rows", "columns": [{"name", "kind", "count", "nulls", "std",
  "integer"}]}``
- per column *i*: numeric ``c<i>.values`` (float64, strictly increasing) and ``c<i>.counts``
  (int64 > 0); categorical ``c<i>.keys`` (UTF-8 bytes as uint8), ``c<i>.offsets`` (int64,
  Arrow large-string offsets) and ``c<i>.counts``.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from modelci import fsutil
from modelci.drift.stats import Ecdf, IntArray
from modelci.errors import DataError
from modelci.timestamps import utc_now

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")
FORMAT = "modelci-profile"
VERSION = 1
#: suggested file name ending; the file is recognised by its content, not its name
SUFFIX = ".mprof"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """What drift detection needs to know about one reference column."""

    name: str
    kind: Kind
    #: rows left out of the distribution: nulls, and NaN/±inf for numeric columns
    nulls: int
    #: numeric: the exact compressed sample
    ecdf: Ecdf | None = None
    #: numeric: population std of the sample (the Wasserstein normaliser)
    std: float = math.nan
    #: categorical: sorted distinct values as a pyarrow large_string array
    categories: Any = None
    #: categorical: count of each category, aligned with ``categories``
    counts: IntArray = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def count(self) -> int:
        """Values in the distribution (non-null, finite)."""
        if self.ecdf is not None:
            return self.ecdf.n
        return int(self.counts.sum())


@dataclass(frozen=True, eq=False)
class Profile:
    """A reference dataset reduced to its per-column distributions."""

    columns: dict[str, ColumnProfile]
    source: str
    digest: str | None
    rows: int
    created: str = ""

    @property
    def kinds(self) -> dict[str, Kind]:
        return {name: col.kind for name, col in self.columns.items()}


def infer_kind(arrow_type: Any) -> Kind | None:
    """numeric for integers, floats and decimals; categorical for strings, bools, dictionaries."""
    import pyarrow as pa

    types = pa.types
    if (
        types.is_integer(arrow_type)
        or types.is_floating(arrow_type)
        or types.is_decimal(arrow_type)
    ):
        return "numeric"
    if (
        types.is_string(arrow_type)
        or types.is_large_string(arrow_type)
        or types.is_boolean(arrow_type)
        or types.is_dictionary(arrow_type)
        or getattr(types, "is_string_view", lambda _t: False)(arrow_type)
    ):
        return "categorical"
    return None


def numeric_sample(column: Any) -> tuple[Ecdf, int]:
    """Compress a pyarrow column to an Ecdf; returns it with the count of rows left out.

    Raises pyarrow's error when the column cannot be read as numbers (caller decides).
    """
    import pyarrow as pa

    integer = pa.types.is_integer(column.type)
    values = column.cast(pa.float64()).to_numpy()
    ecdf = Ecdf.from_sample(values, integer=integer)
    return ecdf, len(column) - ecdf.n


def category_counts(column: Any) -> tuple[Any, IntArray, int]:
    """Value counts of a pyarrow column: (sorted large_string keys, counts, nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pc.value_counts(column)
    keys = table.field("values")
    counts = table.field("counts")
    valid = keys.is_valid()
    keys = keys.filter(valid)
    counts = counts.filter(valid)
    if pa.types.is_dictionary(keys.type):
        keys = keys.cast(keys.type.value_type)
    keys = keys.cast(pa.large_string())
    # Two values can print the same (1 and 1.0 in a mixed column); merge them.
    if len(keys) and pc.count_distinct(keys).as_py() != len(keys):
        grouped = pa.table({"k": keys, "c": counts}).group_by("k").aggregate([("c", "sum")])
        keys, counts = grouped["k"].combine_chunks(), grouped["c_sum"].combine_chunks()
    order = pc.sort_indices(keys)
    keys = keys.take(order)
    counts_np = np.asarray(counts.take(order).to_numpy(zero_copy_only=False), dtype=np.int64)
    return keys, counts_np, len(column) - int(counts_np.sum())


def profile_column(name: str, column: Any, kind: Kind) -> ColumnProfile:
    if kind == "numeric":
        ecdf, nulls = numeric_sample(column)
        return ColumnProfile(name, kind, nulls, ecdf=ecdf, std=ecdf.std())
    keys, counts, nulls = category_counts(column)
    return ColumnProfile(name, kind, nulls, categories=keys, counts=counts)


def build_profile(
    table: Any,
    *,
    kinds: Mapping[str, Kind] | None = None,
    source: str = "",
    digest: str | None = None,
    skip: Collection[str] = (),
) -> Profile:
    """Profile every numeric and categorical column of a pyarrow Table.

    ``kinds`` overrides the kind inferred from the Arrow type for the columns it names
    (e.g. an integer code column to profile as categorical); other columns are inferred,
    and columns of other types (timestamps, binary, nested) are left out, as are the
    columns in ``skip`` (identifiers: profiling millions of distinct ids is all cost).
    """
    import pyarrow as pa

    where = source or "reference data"
    overrides = dict(kinds or {})
    present = set(table.column_names)
    for name, wanted in overrides.items():
        if name not in present:
            raise DataError(
                where,
                f"no column {name!r}, which the contract declares; profile data with the "
                "contract's columns (is this the right reference file?)",
            )
        if wanted not in KINDS:
            raise DataError(
                where, f"column {name!r}: kind must be numeric or categorical, not {wanted!r}"
            )
    columns: dict[str, ColumnProfile] = {}
    left_out = set(skip)
    for index, name in enumerate(table.column_names):
        if name in left_out:
            continue
        column = table.column(index)
        kind: Kind | None = overrides.get(name) or infer_kind(column.type)
        if kind is None:
            continue
        try:
            columns[name] = profile_column(name, column, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise DataError(where, f"column {name!r} cannot be profiled as {kind}: {exc}") from exc
    return Profile(columns, source, digest, table.num_rows, utc_now())


def save_profile(profile: Profile, path: str | Path) -> Path:
    """Write the profile atomically; returns the path."""
    meta_columns: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for i, col in enumerate(profile.columns.values()):
        entry: dict[str, Any] = {
            "name": col.name,
            "kind": col.kind,
            "count": col.count,
            "nulls": col.nulls,
        }
        if col.kind == "numeric":
            assert col.ecdf is not None
            entry["std"] = None if math.isnan(col.std) else col.std
            entry["integer"] = col.ecdf.integer
            arrays[f"c{i}.values"] = col.ecdf.values
            arrays[f"c{i}.counts"] = col.ecdf.counts
        else:
            offsets, data = _string_buffers(col.categories)
            arrays[f"c{i}.keys"] = data
            arrays[f"c{i}.offsets"] = offsets
            arrays[f"c{i}.counts"] = col.counts
        meta_columns.append(entry)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "created": profile.created or utc_now(),
        "source": profile.source,
        "digest": profile.digest,
        "rows": profile.rows,
        "columns": meta_columns,
    }
    meta_bytes = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    target = Path(path)
    with (
        fsutil.atomic_open(target, "wb", encoding=None) as handle,
        zipfile.ZipFile(handle, "w", allowZip64=True, compresslevel=1) as archive,
    ):
        # meta first: is_profile() and load_profile() read it before any array.
        for name, array in [("meta", meta_bytes), *arrays.items()]:
            # Distinct float values barely compress and deflating them doubles the save
            # time; counts (mostly 1) and category text shrink several-fold.
            stored = name.endswith(".values")
            archive.compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
    return target


def _string_buffers(keys: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    import pyarrow as pa

    keys = pa.concat_arrays([keys]) if keys.offset else keys  # drop any slice offset
    _, offsets_buf, data_buf = keys.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[: len(keys) + 1].copy()
    end = int(offsets[-1]) if offsets.size else 0
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)[:end].copy()
        if data_buf is not None
        else np.empty(0, np.uint8)
    )
    if offsets.size == 0:
        offsets = np.zeros(1, np.int64)
    return offsets, data


def is_profile(path: str | Path) -> bool:
    """True when ``path`` is a modelci profile file (checked by content, of any version)."""
    try:
        # open_regular: a FIFO given as --reference must not block the step forever
        with fsutil.open_regular(path) as handle:
            if handle.read(4) != _ZIP_MAGIC:
                return False
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as npz:
                meta = _read_meta(npz)
    except Exception:  # any unreadable file is simply "not a profile"
        return False
    return meta.get("format") == FORMAT


def load_profile(path: str | Path) -> Profile:
    """Read a profile written by save_profile; DataError naming the file if it is not one."""

    where = str(path)
    try:
        handle = fsutil.open_regular(path)
    except fsutil.NotRegularFile as exc:
        raise DataError(where, f"is a {exc.kind}, not a drift profile file") from None
    except OSError as exc:
        raise DataError(where, f"cannot read the drift profile: {exc.strerror or exc}") from exc
    with handle:
        if handle.read(4) != _ZIP_MAGIC:
            raise DataError(
                where, "not a modelci drift profile (expected a .npz archive); rebuild it"
            )
        handle.seek(0)
        return _load_archive(where, handle)


def _load_archive(where: str, handle: Any) -> Profile:
    import pyarrow as pa

    try:
        with np.load(handle, allow_pickle=False) as npz:
            meta = _read_meta(npz)
            _check_meta(where, meta)
            columns = {
                entry["name"]: _load_column(where, npz, i, entry)
                for i, entry in enumerate(meta["columns"])
            }
    except DataError:
        raise
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        pa.ArrowException,
    ) as exc:
        raise DataError(
            where, f"drift profile is damaged or truncated ({exc}); rebuild it"
        ) from exc
    return Profile(
        columns, str(meta["source"]), meta["digest"], int(meta["rows"]), str(meta["created"])
    )


def _read_meta(npz: Any) -> dict[str, Any]:
    raw = npz["meta"]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError("meta is not a byte string")
    meta = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("meta is not a JSON object")
    return meta


def _check_meta(where: str, meta: dict[str, Any]) -> None:
    if meta.get("format") != FORMAT:
        raise DataError(where, "not a modelci drift profile (format mark missing); rebuild it")
    version = meta.get("version")
    if version != VERSION:
        raise DataError(
            where,
            f"drift profile version {version!r} is not supported (this modelci reads version "
            f"{VERSION}); rebuild the profile with this modelci",
        )
    if not isinstance(meta.get("columns"), list) or not isinstance(meta.get("rows"), int):
        raise DataError(where, "drift profile metadata lacks its column list; rebuild it")
    for key in ("source", "created"):
        if not isinstance(meta.get(key), str):
            raise DataError(where, f"drift profile metadata lacks {key!r}; rebuild it")
    if meta.get("digest") is not None and not isinstance(meta["digest"], str):
        raise DataError(where, "drift profile digest is not a string; rebuild it")


def _array(npz: Any, name: str, dtype: type[np.generic]) -> np.ndarray[Any, Any]:
    array: np.ndarray[Any, Any] = npz[name]
    if array.dtype != dtype or array.ndim != 1:
        raise ValueError(f"array {name} has dtype {array.dtype}, shape {array.shape}")
    return array


def _load_column(where: str, npz: Any, i: int, entry: Any) -> ColumnProfile:
    import pyarrow as pa

    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise DataError(where, f"drift profile column #{i} has no name; rebuild it")
    name, kind = entry["name"], entry.get("kind")
    nulls = entry.get("nulls")
    if kind not in KINDS or not isinstance(nulls, int) or nulls < 0:
        raise DataError(where, f"drift profile column {name!r} has a bad kind or null count")
    counts = _array(npz, f"c{i}.counts", np.int64)
    if counts.size and int(counts.min()) <= 0:
        raise DataError(where, f"drift profile column {name!r} has non-positive counts")
    if kind == "numeric":
        values = _array(npz, f"c{i}.values", np.float64)
        if (
            values.size != counts.size
            or not np.all(np.isfinite(values))
            or np.any(np.diff(values) <= 0)
        ):
            raise DataError(where, f"drift profile column {name!r} has an invalid distribution")
        ecdf = Ecdf(values, counts, bool(entry.get("integer", False)))
        std = entry.get("std")
        return ColumnProfile(
            name, "numeric", nulls, ecdf=ecdf, std=math.nan if std is None else float(std)
        )
    offsets = _array(npz, f"c{i}.offsets", np.int64)
    data = _array(npz, f"c{i}.keys", np.uint8)
    if offsets.size != counts.size + 1:
        raise DataError(
            where, f"drift profile column {name!r} has mismatched categories and counts"
        )
    keys = pa.LargeStringArray.from_buffers(
        counts.size, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes())
    )
    keys.validate(full=True)
    return ColumnProfile(name, "categorical", nulls, categories=keys, counts=counts)
