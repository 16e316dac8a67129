"""A starting contract inferred from reference data, which a fresh batch from the same source
passes, for a person to review and tighten.

A reference is a sample: a rule it happens to satisfy (the exact range, the row count, no
duplicate) is not a rule of the source. What is inferred, and why (docs/contract.md):

- ``dtype`` from the Arrow type; a column of nulls only gets no rule;
- ``nullable: false`` when nothing is missing, else ``max_null_share`` four standard
  errors above the observed share, rounded up to 0.01;
- identifiers (``role: id``): all-distinct integers whose spread makes chance uniqueness
  unlikely or whose name says id, and all-distinct text with more than ``max_categories``
  values. They get ``unique`` (or become the primary key), no range, no allowed list and
  no drift check;
- ``min``/``max`` for numbers, widened by the observed range measured on an asinh scale
  (:func:`widen`), never past zero when the reference had one sign, whole numbers for
  integral data; datetimes widened by their span; ``exact_bounds`` keeps the observed range;
- ``allowed`` for text and category columns with at most ``max_categories`` values, each
  seen at least ``MIN_SEEN`` times (a rarer value says others may be missing);
  high-cardinality text that is not an identifier gets ``drift: false``;
- the label column (``target``) gets ``role: target``;
- ``rows: {min: 1}`` (not empty); the reference's size only when asked (``rows``);
  ``unexpected_columns: fail``. ``no_duplicate_rows`` is not inferred: a sample without
  a repeated row says little about the next one.
"""

from __future__ import annotations

import contextlib
import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from modelci import fsutil
from modelci.contract.checks import dtype_name
from modelci.contract.duplicates import distinct_count
from modelci.contract.model import CONTRACT_VERSION, ContractDumper
from modelci.errors import InputError

DEFAULT_HEADER = (
    "Data contract inferred by modelci from reference data.\n"
    "Review every rule before relying on it: bounds are the reference's range widened,\n"
    "allowed values are what it contained; neither is what the data may contain."
)
#: bounds move out by this many observed ranges, measured on the asinh scale
MARGIN = 1.0
#: a value seen fewer times than this suggests other rare values were not seen at all
MIN_SEEN = 5
#: standard errors added to an observed share of missing values
NULL_SHARE_ERRORS = 4.0
#: significant digits bounds are rounded (outwards) to, so the file reads well
BOUND_DIGITS = 3
#: all-distinct integers are a key when a random draw over their range would have
#: repeated a value this many times on average (the birthday bound)
KEY_EVIDENCE = 3.0
#: text columns with distinct values in at least this share of their rows are not categories
HIGH_CARDINALITY = 0.5
#: names that say "identifier": id, customer_id, ID, row-key, customerId (not paid, idle)
_ID_NAME = re.compile(
    r"(?i:(?:^|[_\W])(?:id|uuid|guid|key)(?:$|[_\W]))|[a-z0-9](?:Id|ID|Key|Uuid|UUID)$"
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


def _null_share(missing: int, rows: int) -> float:
    share = missing / rows
    # the next batch's share varies around the source's as much as the reference's did
    spread = NULL_SHARE_ERRORS * math.sqrt(share * (1 - share) * 2 / rows)
    return min(1.0, math.ceil(round((share + spread) * 100, 9)) / 100)


# --- numeric bounds ---------------------------------------------------------------------------


def widen(
    low: float, high: float, scale: float, *, integral: bool, margin: float = MARGIN
) -> tuple[float | None, float | None]:
    """Bounds a fresh batch from the same source stays within; None: no bound on that side.

    On the scale ``t = asinh(x / scale)`` (``scale``: the column's interquartile range) each
    bound moves out by ``margin`` times the observed range in ``t``. The scale is linear
    within a few ``scale`` of zero and logarithmic beyond, so a column spread around 300
    gains about one range on each side while a long-tailed column gains orders of
    magnitude, as its next extreme value may. A non-negative column keeps 0 as its lowest
    bound (and one with negative values and none above 0 keeps 0 as its highest); integral
    data gets whole bounds.
    """
    t_low, t_high = math.asinh(low / scale), math.asinh(high / scale)
    reach = margin * (t_high - t_low)
    lower: float | None = _unscale(t_low - reach, scale)
    upper: float | None = _unscale(t_high + reach, scale)
    if lower is not None:
        lower = _round_out(lower, up=False)
        if low >= 0:
            lower = max(lower, 0.0)
    if upper is not None:
        upper = _round_out(upper, up=True)
        if high <= 0 < -low:
            upper = min(upper, 0.0)
    if integral:
        lower = None if lower is None else float(math.floor(lower))
        upper = None if upper is None else float(math.ceil(upper))
    return lower, upper


def _unscale(t: float, scale: float) -> float | None:
    try:
        value = scale * math.sinh(t)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _round_out(value: float, *, up: bool) -> float:
    """``value`` rounded away from the data to BOUND_DIGITS significant digits."""
    if value == 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(abs(value))) - BOUND_DIGITS + 1)
    steps = (math.ceil if up else math.floor)(value / step)
    rounded = float(f"{steps * step:.{BOUND_DIGITS + 2}g}")
    # the arithmetic can land a hair inside; the bound must never move into the data
    if not math.isfinite(rounded) or (rounded < value if up else rounded > value):
        return value
    return rounded


def _scale(values: pa.ChunkedArray) -> float | None:
    """A robust spread: the interquartile range, else the standard deviation; None if constant."""
    quartiles = pc.tdigest(values, q=[0.25, 0.75], skip_nulls=True).to_pylist()
    if len(quartiles) == 2 and None not in quartiles:
        spread = float(quartiles[1]) - float(quartiles[0])
        if spread > 0 and math.isfinite(spread):
            return spread
    std = pc.stddev(values).as_py()
    return float(std) if std and math.isfinite(std) and std > 0 else None


def _numeric_bounds(column: pa.ChunkedArray, exact: bool) -> dict[str, Any]:
    values = column
    if pa.types.is_decimal(values.type):
        values = pc.cast(values, pa.float64())
    infinite = (False, False)
    if pa.types.is_floating(values.type):
        whole = pc.min_max(values)
        infinite = (whole["min"].as_py() == -math.inf, whole["max"].as_py() == math.inf)
        values = pc.filter(values, pc.is_finite(values))
    found = pc.min_max(values)
    if not found["min"].is_valid:
        return {}
    low, high = found["min"].as_py(), found["max"].as_py()
    integer = pa.types.is_integer(column.type)
    out: dict[str, Any] = {}
    if exact:
        if pa.types.is_decimal(column.type):
            # YAML has no decimal; a float may round the last digit, so step outwards
            low, high = math.nextafter(low, -math.inf), math.nextafter(high, math.inf)
        out = {"min": low, "max": high}
    elif (scale := _scale(values)) is None:
        # one value only: there is no spread to widen by, so only its sign is kept
        if low >= 0:
            out["min"] = 0
        elif high < 0:
            out["max"] = 0
    else:
        integral = integer or bool(pc.all(pc.equal(pc.floor(values), values)).as_py())
        lower, upper = widen(float(low), float(high), scale, integral=integral)
        if lower is not None:
            out["min"] = min(int(lower), low) if integer else lower
        if upper is not None:
            # int() of a float past 2**53 may land inside the data: the observed value then
            out["max"] = max(int(upper), high) if integer else upper
    if integer:
        # a bound at or past what the type holds says nothing
        bits = column.type.bit_width
        if pa.types.is_signed_integer(column.type):
            if out.get("min", 0) <= -(2 ** (bits - 1)):
                del out["min"]
            bits -= 1
        if out.get("max", 0) >= 2**bits - 1:
            del out["max"]
    # an infinite value in the reference leaves that side unbounded
    for key, seen in zip(("min", "max"), infinite, strict=True):
        if seen:
            out.pop(key, None)
    return out


def _datetime_bounds(column: pa.ChunkedArray, exact: bool) -> dict[str, Any]:
    found = pc.min_max(column)
    low, high = found["min"], found["max"]
    if not low.is_valid or not high.is_valid:
        return {}
    if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
        # as_py cannot hold nanoseconds: round the bounds outwards to the microsecond
        micro = pa.timestamp("us", tz=column.type.tz)
        low = pc.cast(pc.floor_temporal(low, unit="microsecond"), micro)
        high = pc.cast(pc.ceil_temporal(high, unit="microsecond"), micro)
    lo, hi = low.as_py(), high.as_py()
    if exact:
        return {"min": _iso(lo), "max": _iso(hi)}
    # a later batch is later: move each bound out by the span seen, at least a day, to midnight
    reach = max(_as_datetime(hi) - _as_datetime(lo), timedelta(days=1)) * MARGIN
    try:
        lower = _as_datetime(lo) - reach
        upper = _as_datetime(hi) + reach
    except OverflowError:
        return {"min": _iso(lo), "max": _iso(hi)}
    lower = lower.replace(hour=0, minute=0, second=0, microsecond=0)
    if upper.time() != datetime.min.time():
        with contextlib.suppress(OverflowError):
            upper = upper.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if isinstance(lo, datetime):
        return {"min": lower.isoformat(), "max": upper.isoformat()}
    return {"min": lower.date().isoformat(), "max": upper.date().isoformat()}


def _as_datetime(value: date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


# --- text ---------------------------------------------------------------------------------


def _plain_values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def _allowed(column: pa.ChunkedArray, max_categories: int) -> list[Any] | None:
    values = _plain_values(column)
    # count_distinct on a head slice first: a 5M-row id column must not be fully hashed
    if pc.count_distinct(values.slice(0, 100_000)).as_py() > max_categories:
        return None
    counts = pc.value_counts(values.drop_null())
    if len(counts) == 0 or len(counts) > max_categories:
        return None
    if pc.min(counts.field("counts")).as_py() < MIN_SEEN:
        return None
    distinct = counts.field("values").to_pylist()
    return sorted(distinct, key=lambda v: (str(type(v)), v))


def _is_key(
    name: str, column: pa.ChunkedArray, dtype: str, valid: int, max_categories: int
) -> bool:
    """All values distinct, and that says "identifier" rather than chance."""
    if valid < 2 or dtype not in ("integer", "string", "category"):
        return False
    if dtype == "integer":
        found = pc.min_max(column)
        span = float(found["max"].as_py()) - float(found["min"].as_py()) + 1
        # many values in a narrow range would have collided by chance, unless they are keys
        evidence = valid * (valid - 1) / (2 * span) >= KEY_EVIDENCE
        if not (evidence or _ID_NAME.search(name)):
            return False
    elif valid <= max_categories and not _ID_NAME.search(name):
        return False
    try:
        return distinct_count(column) == valid
    except pa.ArrowNotImplementedError:
        return False


def _high_cardinality(column: pa.ChunkedArray, valid: int, max_categories: int) -> bool:
    distinct = pc.count_distinct(_plain_values(column)).as_py()
    return bool(distinct > max_categories and distinct >= HIGH_CARDINALITY * valid)


# --- columns and table ------------------------------------------------------------------------


def _column(
    name: str,
    column: pa.ChunkedArray,
    rows: int,
    *,
    max_categories: int,
    target: bool,
    exact_bounds: bool,
) -> tuple[dict[str, Any], bool]:
    """The rules of one column, and whether it is an identifier."""
    spec: dict[str, Any] = {}
    if rows and column.null_count == rows:
        return spec, False  # nothing to learn from a column of nulls but that it exists
    dtype = dtype_name(column.type)
    if dtype == "null":
        return spec, False
    if dtype in ("integer", "float", "number", "string", "boolean", "datetime", "category"):
        spec["dtype"] = dtype
    valid = rows - column.null_count
    key = not target and _is_key(name, column, dtype, valid, max_categories)
    if target:
        spec["role"] = "target"
    elif key:
        spec["role"] = "id"
    missing = _missing(column)
    if missing == 0:
        spec["nullable"] = False
    else:
        spec["max_null_share"] = _null_share(missing, rows)
    if key:
        return spec, True
    if dtype in ("integer", "float", "number"):
        spec.update(_numeric_bounds(column, exact_bounds))
    elif dtype == "datetime":
        spec.update(_datetime_bounds(column, exact_bounds))
    elif dtype in ("string", "category"):
        allowed = _allowed(column, max_categories)
        if allowed is not None:
            spec["allowed"] = allowed
        elif not target and _high_cardinality(column, valid, max_categories):
            spec["drift"] = False
    return spec, False


def infer_contract(
    table: pa.Table,
    *,
    max_categories: int = 20,
    target: str | None = None,
    rows: bool = False,
    exact_bounds: bool = False,
) -> dict[str, Any]:
    """A contract (as plain data, ready for YAML) that ``table`` and, with high probability,
    a fresh batch from the same source pass.

    ``target`` names the label column (``role: target``); ``rows`` adds row-count bounds of
    half to twice the reference's; ``exact_bounds`` keeps the observed ranges unwidened.
    """
    names = table.column_names
    if target is not None and target not in names:
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise InputError(f"no target column {target!r} in the data; its columns are: {shown}")
    count = table.num_rows
    columns: dict[str, dict[str, Any]] = {}
    keys: list[str] = []
    for index, name in enumerate(names):
        spec, key = _column(
            name,
            table.column(index),
            count,
            max_categories=max_categories,
            target=name == target,
            exact_bounds=exact_bounds,
        )
        columns[name] = spec
        if key:
            keys.append(name)
    table_rules: dict[str, Any] = {}
    if rows:
        table_rules["rows"] = {"min": count // 2, "max": count * 2}
    elif count:
        table_rules["rows"] = {"min": 1}
    primary = next((k for k in keys if columns[k].get("nullable") is False), None)
    for name in keys:
        if name != primary:
            columns[name]["unique"] = True
    if primary is not None:
        table_rules["primary_key"] = [primary]
    table_rules["unexpected_columns"] = "fail"
    return {"version": CONTRACT_VERSION, "columns": columns, "table": table_rules}


def _comment(header: str) -> str:
    lines = header.strip().splitlines() if header.strip() else DEFAULT_HEADER.splitlines()
    out = []
    for line in lines:
        text = line.strip().removeprefix("#").strip()
        out.append(f"# {text}\n" if text else "#\n")
    return "".join(out)


def refuse_overwrite(path: str | Path) -> None:
    """An existing contract is someone's reviewed work: replacing it takes ``overwrite``."""
    if Path(path).exists():
        raise InputError(f"{path}: already exists; remove it or pass --force to replace it")


def write_contract(
    data: dict[str, Any], path: str | Path, *, header: str = "", overwrite: bool = True
) -> Path:
    """Write a contract as YAML (atomically), under a comment header saying where it came from.

    With ``overwrite=False`` an existing file is refused (InputError) and left as it is.
    """
    if not overwrite:
        refuse_overwrite(path)
    body = yaml.dump(data, Dumper=ContractDumper, sort_keys=False, allow_unicode=True, width=100)
    text = _comment(header) + "\n" + body
    return fsutil.write_text(path, text)
