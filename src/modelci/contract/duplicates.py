"""Exact duplicate detection on Arrow columns and rows, fast and lean.

Arrow's hash tables (count_distinct, unique, dictionary_encode, group_by) copy every
distinct value and are slow to grow to millions of entries. Instead each value gets a
64-bit hash computed with numpy straight from the Arrow buffers; a sort of those hashes
finds the rows whose hash is shared, and only those candidate rows are compared exactly
(Arrow's hash memo on the small subset). A hash collision therefore costs a little time
and never a false failure. Integers with a small value range skip hashing altogether:
a bitmap over the range is exact.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

U64 = np.ndarray[Any, np.dtype[np.uint64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]
Bools = np.ndarray[Any, np.dtype[np.bool_]]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_NULL = np.uint64(0x7F4A7C159E3779B9)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
#: an integer column whose value range is at most this many times its length is
#: de-duplicated with a bitmap (one byte per possible value) instead of hashing
BITMAP_RANGE_FACTOR = 8
#: rows hashed at a time
BLOCK = 1 << 16


def _mix(x: U64) -> U64:
    """splitmix64's finaliser: spreads every input bit over the whole word."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    result: U64 = x ^ (x >> np.uint64(31))
    return result


def _numpy(chunk: pa.Array) -> np.ndarray[Any, Any]:
    filled = (
        chunk.fill_null(False if pa.types.is_boolean(chunk.type) else 0)
        if chunk.null_count
        else chunk
    )
    return np.asarray(filled.to_numpy(zero_copy_only=False))


def _fixed_hash(chunk: pa.Array) -> U64:
    t = chunk.type
    if pa.types.is_temporal(t):
        chunk = chunk.view(pa.int32() if t.bit_width == 32 else pa.int64())
    values = _numpy(chunk)
    if values.dtype.kind == "f":
        values = values.astype(np.float64) + 0.0  # -0.0 == 0.0
        values[np.isnan(values)] = np.nan  # one NaN bit pattern
        bits = values.view(np.uint64)
    elif values.dtype.kind == "b" or values.dtype.kind == "u":
        bits = values.astype(np.uint64)
    else:
        bits = values.astype(np.int64).view(np.uint64)
    return _mix(bits * _GOLDEN + np.uint64(1))


def _text_hash(chunk: pa.Array) -> U64:
    """Hash each string of a (large_)string/binary chunk, 8 bytes at a time, from its buffers."""
    large = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    _, offsets_buf, data_buf = chunk.buffers()[:3]
    width = 8 if large else 4
    offsets = np.frombuffer(
        offsets_buf,
        dtype=np.int64 if large else np.int32,
        count=len(chunk) + 1,
        offset=chunk.offset * width,
    ).astype(np.int64)
    base, end = int(offsets[0]), int(offsets[-1])
    starts = offsets[:-1] - base
    lengths = offsets[1:] - offsets[:-1]
    # A zero-padded copy of this chunk's bytes lets every string be read 8 bytes at a
    # time, unaligned, without running off the end.
    padded = np.zeros(end - base + 8, dtype=np.uint8)
    if end > base and data_buf is not None:
        padded[: end - base] = np.frombuffer(
            data_buf, dtype=np.uint8, count=end - base, offset=base
        )
    words = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    hashes = lengths.astype(np.uint64) * _GOLDEN
    rows: I64 | None = None  # None: every row; else the rows not yet exhausted
    shortest = int(lengths.min()) if len(lengths) else 0
    longest = int(lengths.max()) if len(lengths) else 0
    for at in range(0, longest, 8):
        # a string is mixed only while it has bytes left, so equal strings get equal
        # hashes whatever the lengths of their neighbours in the chunk
        if rows is not None:
            rows = rows[lengths[rows] > at]
        elif shortest <= at:
            rows = np.flatnonzero(lengths > at)
        pick = slice(None) if rows is None else rows
        word = words[starts[pick] + at]
        if at + 8 > shortest:  # some strings end inside this word: drop the bytes after
            left = np.minimum(lengths[pick] - at, 8).astype(np.uint64)
            word &= np.where(
                left >= 8, _ALL, (np.uint64(1) << (left * np.uint64(8) % np.uint64(64))) - 1
            )
        # multiply-xorshift per word; the full finaliser runs once at the end
        mixed = (hashes[pick] ^ word) * _M1
        hashes[pick] = mixed ^ (mixed >> np.uint64(29))
    return _mix(hashes)


def _chunk_hash(chunk: pa.Array) -> U64:
    t = chunk.type
    if pa.types.is_string(t) or pa.types.is_binary(t):
        return _text_hash(chunk)
    if pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        return _text_hash(chunk)
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        return _text_hash(
            chunk.cast(pa.large_string() if pa.types.is_string_view(t) else pa.large_binary())
        )
    return _fixed_hash(chunk)


def _hashable_in_blocks(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _hashable_in_blocks(t.value_type)
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or (pa.types.is_temporal(t) and t.bit_width in (32, 64))
    )


def value_hashes(column: pa.ChunkedArray) -> tuple[U64, Bools | None]:
    """A 64-bit hash per row (equal values, equal hashes) and the valid mask (None: no null)."""
    if not _hashable_in_blocks(column.type):
        # decimals, nested types...: Arrow's exact codes over the whole column (codes of
        # separate chunks or blocks would not agree)
        whole = _canonical(column.combine_chunks()) if len(column) else pa.array([], pa.null())
        codes = _numpy(pc.dictionary_encode(whole).indices).astype(np.uint64)
        hashes = _mix(codes * _GOLDEN)
        return _with_nulls(column, hashes)
    # Fixed-size blocks keep every numpy temporary small (and in cache) whatever the
    # chunking of the column: a 5M-row chunk would otherwise need ~0.5 GB of scratch.
    hashes = np.empty(len(column), dtype=np.uint64)
    at = 0
    for chunk in column.chunks:
        # a dictionary's values are hashed once per chunk, not once per block
        by_code = _chunk_hash(chunk.dictionary) if pa.types.is_dictionary(chunk.type) else None
        for start in range(0, len(chunk), BLOCK):
            block = chunk.slice(start, BLOCK)
            if by_code is not None:
                codes = _numpy(block.indices).astype(np.int64)
                hashes[at : at + len(block)] = by_code[codes] if len(by_code) else _NULL
            else:
                hashes[at : at + len(block)] = _chunk_hash(block)
            at += len(block)
    return _with_nulls(column, hashes)


def _with_nulls(column: pa.ChunkedArray, hashes: U64) -> tuple[U64, Bools | None]:
    valid: Bools | None = None
    if column.null_count:
        valid = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=np.bool_)
        hashes[~valid] = _NULL
    return hashes, valid


def _shared(values: np.ndarray[Any, Any]) -> I64:
    """Indices of the values that occur more than once (ascending)."""
    ordered = np.sort(values)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return np.zeros(0, np.int64)
    repeated = np.unique(ordered[1:][same])
    # A byte-map over the low bits rules out almost every row in one gather; only the
    # rows it lets through are looked up exactly.
    bits = min(22, max(8, len(values).bit_length() + 2))
    low = (1 << bits) - 1
    flags = np.zeros(1 << bits, dtype=np.bool_)
    flags[(repeated & low).astype(np.intp)] = True
    maybe = np.concatenate(
        [
            start + np.flatnonzero(flags[(values[start : start + BLOCK] & low).astype(np.intp)])
            for start in range(0, len(values), BLOCK)
        ]
    )
    subset = values[maybe]
    at = np.searchsorted(repeated, subset)
    at[at == len(repeated)] = 0
    result: I64 = maybe[repeated[at] == subset]
    return result


def shared_hash_rows(hashes: U64) -> I64:
    """Indices of the rows whose hash another row also has (ascending)."""
    if len(hashes) < 2:
        return np.zeros(0, np.int64)
    # Sorting the top 32 bits is ~2.5x faster than sorting 64; the few rows whose top
    # halves meet by chance (~n^2 / 2^33 pairs) are then compared on all 64 bits.
    # the high halves, as a strided view: no 40 MB temporary on 5M rows
    halves = hashes.view(np.uint32)
    top = _shared(halves[1::2] if sys.byteorder == "little" else halves[0::2])
    if len(top) == 0:
        return top
    full = _shared(hashes[top])
    result: I64 = top[full]
    return result


def _shared_value_rows(values: pa.ChunkedArray) -> I64:
    """Rows of a null-free column whose 64-bit value hash another row shares.

    Lean on memory: only the high 32 bits of every hash are kept (4 bytes a row); the rows
    whose halves meet are re-hashed in full, and compared on all 64 bits.
    """
    if len(values) < 2:
        return np.zeros(0, np.int64)
    if _hashable_in_blocks(values.type):
        halves = np.empty(len(values), dtype=np.uint32)
        step = BLOCK * 16  # a dictionary is re-hashed once per step
        for start in range(0, len(values), step):
            part = values.slice(start, step)
            halves[start : start + len(part)] = value_hashes(part)[0] >> np.uint64(32)
    else:  # Arrow's codes for these types only agree within one call
        halves = (value_hashes(values)[0] >> np.uint64(32)).astype(np.uint32)
    top = _shared(halves)
    del halves
    if len(top) == 0:
        return top
    full = value_hashes(values.take(pa.array(top)))[0]
    result: I64 = top[_shared(full)]
    return result


def _int_range(column: pa.ChunkedArray) -> tuple[int, int] | None:
    """(min, max) of an integer column when a bitmap over its range is small enough."""
    if not pa.types.is_integer(column.type) or len(column) == 0:
        return None
    bounds = pc.min_max(column).as_py()
    low, high = bounds["min"], bounds["max"]
    if low is None or high is None:
        return None
    if high - low > BITMAP_RANGE_FACTOR * len(column) + 1024:
        return None
    return int(low), int(high)


def distinct_count(column: pa.ChunkedArray) -> int:
    """Number of distinct non-null values. Exact."""
    valid_count: int = len(column) - column.null_count
    if valid_count == 0:
        return 0
    span = _int_range(column)
    if span is not None:
        low, high = span
        seen = np.zeros(high - low + 1, dtype=np.bool_)
        for chunk in column.chunks:
            values = chunk.drop_null() if chunk.null_count else chunk
            for start in range(0, len(values), BLOCK):
                block = _numpy(values.slice(start, BLOCK)).astype(np.int64, copy=False)
                seen[block - low] = True
        return int(np.count_nonzero(seen))
    values = column.drop_null() if column.null_count else column
    candidates = _shared_value_rows(values)
    if len(candidates) == 0:
        return valid_count
    subset = _canonical(values.take(pa.array(candidates)))
    exact: int = len(pc.unique(subset))
    return valid_count - len(candidates) + exact


def _canonical(values: Any) -> Any:
    """-0.0 -> 0.0, so the exact comparison agrees with numeric equality (and the hashes)."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_floating(values.type):
        values = pc.add(values, pa.scalar(0.0, type=values.type))
    return values


def later_copies(dense: I64) -> Bools:
    """True for each row equal to an earlier row; ``dense`` numbered in first-appearance order."""
    if len(dense) == 0:
        return np.zeros(0, dtype=np.bool_)
    before = np.maximum.accumulate(dense)
    earlier_max = np.empty_like(before)
    earlier_max[0] = -1
    earlier_max[1:] = before[:-1]
    result: Bools = dense <= earlier_max
    return result


def _dense(values: np.ndarray[Any, Any] | pa.Array | pa.ChunkedArray) -> I64:
    """Codes 0.. in order of first appearance (Arrow's hash memo keeps that order); nulls too."""
    values = pa.array(values) if isinstance(values, np.ndarray) else _canonical(values)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values, null_encoding="encode")
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False)).astype(np.int64)


def _exact_row_codes(columns: Sequence[pa.ChunkedArray | pa.Array]) -> I64:
    """Exact codes of whole rows, in first-appearance order; for a (small) candidate subset."""
    codes: I64 | None = None
    for column in columns:
        col_codes = _dense(column)
        if codes is None:
            codes = col_codes
        else:
            codes = _dense(codes * (int(col_codes.max()) + 1) + col_codes)
    assert codes is not None
    return codes


def duplicate_rows(columns: Sequence[pa.ChunkedArray]) -> tuple[int, int | None]:
    """(rows equal to an earlier row on all ``columns``, index of the first such row). Exact."""
    if not columns or len(columns[0]) == 0:
        return 0, None
    combined: U64 | None = None
    for column in columns:
        hashes, _ = value_hashes(column)
        combined = hashes if combined is None else _mix(combined * _GOLDEN ^ hashes)
    assert combined is not None
    candidates = shared_hash_rows(combined)
    del combined
    if len(candidates) == 0:
        return 0, None
    taken = pa.array(candidates)
    codes = _exact_row_codes([column.take(taken) for column in columns])
    later = later_copies(codes)
    count = int(np.count_nonzero(later))
    if count == 0:
        return 0, None
    return count, int(candidates[int(np.argmax(later))])


def first_duplicate(column: pa.ChunkedArray) -> int | None:
    """Index of the first row repeating an earlier non-null value of ``column``."""
    hashes, valid = value_hashes(column)
    if valid is not None:
        hashes[~valid] = np.arange(np.count_nonzero(~valid), dtype=np.uint64)  # never shared
        candidates = shared_hash_rows(hashes)
        candidates = candidates[valid[candidates]]
    else:
        candidates = shared_hash_rows(hashes)
    if len(candidates) == 0:
        return None
    later = later_copies(_dense(column.take(pa.array(candidates))))
    return int(candidates[int(np.argmax(later))]) if later.any() else None
