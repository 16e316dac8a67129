"""A starting contract inferred from reference data, for a person to review and tighten.

What is inferred, and why (documented in docs/contract.md):
- dtype from the Arrow type; a column of nulls only gets no dtype;
- ``nullable: false`` when the column has no missing value, else ``max_null_share``
  rounded up to the next 0.01, so the reference itself passes;
- exact ``min``/``max`` for numbers and datetimes (the observed range; widen by hand if the
  next batch may legitimately go further);
- ``allowed`` for text, category and boolean columns with at most ``max_categories``
  distinct values;
- ``unique: true`` for integer and text columns whose values are all distinct (identifiers;
  for measurements, all-distinct floats are chance, not a rule);
- table rows between half and twice the reference's count, ``no_duplicate_rows`` when the
  reference has none, and ``unexpected_columns: fail``.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from modelci import fsutil
from modelci.contract.checks import dtype_name
from modelci.contract.duplicates import distinct_count, duplicate_rows
from modelci.contract.model import CONTRACT_VERSION, ContractDumper

DEFAULT_HEADER = (
    "Data contract inferred by modelci from reference data.\n"
    "Review every rule before relying on it: bounds and allowed values are what the\n"
    "reference happened to contain, not what the data may contain."
)


def _missing(column: pa.ChunkedArray) -> int:
    count = column.null_count
    if pa.types.is_floating(column.type):
        count += int(pc.sum(pc.is_nan(column)).as_py() or 0)
    return int(count)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _bounds(column: pa.ChunkedArray, dtype: str) -> dict[str, Any]:
    found = pc.min_max(column)
    low, high = found["min"], found["max"]
    if not low.is_valid or not high.is_valid:
        return {}
    if dtype == "datetime" and pa.types.is_timestamp(column.type) and column.type.unit == "ns":
        # as_py cannot hold nanoseconds: round the bounds outwards to the microsecond
        micro = pa.timestamp("us", tz=column.type.tz)
        low = pc.cast(pc.floor_temporal(low, unit="microsecond"), micro)
        high = pc.cast(pc.ceil_temporal(high, unit="microsecond"), micro)
    lo, hi = low.as_py(), high.as_py()
    if isinstance(lo, float) and (math.isnan(lo) or math.isnan(hi)):
        return {}
    if pa.types.is_decimal(column.type):
        lo, hi = float(lo), float(hi)  # YAML has no decimal; float may round the last digit
        lo, hi = math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf)
    return {"min": _iso(lo), "max": _iso(hi)}


def _allowed(column: pa.ChunkedArray, max_categories: int) -> list[Any] | None:
    values = column
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    # count_distinct on a head slice first: a 5M-row id column must not be fully hashed
    if pc.count_distinct(values.slice(0, 100_000)).as_py() > max_categories:
        return None
    distinct = pc.unique(values).drop_null()
    if len(distinct) == 0 or len(distinct) > max_categories:
        return None
    return sorted(distinct.to_pylist(), key=lambda v: (str(type(v)), v))


def _column(column: pa.ChunkedArray, rows: int, max_categories: int) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if rows and column.null_count == rows:
        return spec  # nothing to learn from a column of nulls but that it exists
    dtype = dtype_name(column.type)
    if dtype == "null":
        return spec
    if dtype in ("integer", "float", "number", "string", "boolean", "datetime", "category"):
        spec["dtype"] = dtype
    missing = _missing(column)
    if missing == 0:
        spec["nullable"] = False
    else:
        spec["max_null_share"] = min(1.0, math.ceil(missing / rows * 100) / 100)
    if dtype in ("integer", "float", "number", "datetime"):
        spec.update(_bounds(column, dtype))
    if dtype in ("string", "category", "boolean"):
        allowed = _allowed(column, max_categories)
        if allowed is not None and dtype != "boolean":
            spec["allowed"] = allowed
    if dtype in ("integer", "string") and rows > 1:
        valid = rows - column.null_count
        if valid > 1 and distinct_count(column) == valid:
            spec["unique"] = True
    return spec


def infer_contract(table: pa.Table, *, max_categories: int = 20) -> dict[str, Any]:
    """A contract (as plain data, ready for YAML) that ``table`` itself passes."""
    rows = table.num_rows
    columns = {
        name: _column(table.column(name), rows, max_categories) for name in table.column_names
    }
    table_rules: dict[str, Any] = {
        "rows": {"min": rows // 2, "max": rows * 2},
        "unexpected_columns": "fail",
    }
    try:
        if rows and table.num_columns and duplicate_rows(table.columns)[0] == 0:
            table_rules["no_duplicate_rows"] = True
    except pa.ArrowNotImplementedError:
        pass  # a nested column type cannot be compared row by row: leave the rule out
    return {"version": CONTRACT_VERSION, "columns": columns, "table": table_rules}


def _comment(header: str) -> str:
    lines = header.strip().splitlines() if header.strip() else DEFAULT_HEADER.splitlines()
    out = []
    for line in lines:
        text = line.strip().removeprefix("#").strip()
        out.append(f"# {text}\n" if text else "#\n")
    return "".join(out)


def write_contract(data: dict[str, Any], path: str | Path, *, header: str = "") -> Path:
    """Write a contract as YAML (atomically), under a comment header saying where it came from."""
    body = yaml.dump(data, Dumper=ContractDumper, sort_keys=False, allow_unicode=True, width=100)
    text = _comment(header) + "\n" + body
    return fsutil.write_text(path, text)
