"""Run a contract's rules on a pyarrow Table: one ``Check`` per (column, rule).

Everything is computed with pyarrow.compute on the Arrow buffers, or numpy views of them;
no value is turned into a Python object unless it is reported (a bound, up to 5 examples).
Offending rows are located only when a check fails, so a passing dataset pays for one
pass per rule and nothing more.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from modelci.contract.duplicates import distinct_count, duplicate_rows, first_duplicate
from modelci.contract.model import ColumnSpec, Contract, full_match_pattern
from modelci.errors import InputError, first_line
from modelci.results import Check, plain

EXAMPLES = 5
#: a file whose rows sit on lines (row index + 2: one header line, 1-based lines)
_LINE_FILES = (".csv", ".tsv", ".txt", ".psv")
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4")

#: below this many rows the checks run one after the other: threads would cost more
_PARALLEL_ROWS = 200_000


# --- Arrow types -> contract dtypes -----------------------------------------------------------


def dtype_name(arrow_type: pa.DataType) -> str:
    """The contract dtype of an Arrow type, or the Arrow type's own name when none fits."""
    t = arrow_type
    if pa.types.is_dictionary(t):
        return "category"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return "number"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    if pa.types.is_null(t):
        return "null"
    return str(t)


_ACCEPTS: dict[str, frozenset[str]] = {
    "integer": frozenset({"integer"}),
    "float": frozenset({"float", "integer"}),
    "number": frozenset({"float", "integer", "number"}),
    "string": frozenset({"string"}),
    "category": frozenset({"category", "string"}),
    "boolean": frozenset({"boolean"}),
    "datetime": frozenset({"datetime"}),
}


def _accepts(wanted: str, arrow_type: pa.DataType) -> bool:
    found = dtype_name(arrow_type)
    if found == "category" and wanted == "string":
        # Parquet written from a pandas category reads back dictionary-encoded text.
        return dtype_name(arrow_type.value_type) == "string"
    return found in _ACCEPTS[wanted]


def _value_type(arrow_type: pa.DataType) -> pa.DataType:
    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type


def _is_text(arrow_type: pa.DataType) -> bool:
    return dtype_name(_value_type(arrow_type)) == "string"


def _is_orderable(arrow_type: pa.DataType) -> bool:
    return dtype_name(arrow_type) in ("integer", "float", "number", "datetime")


Unit = Callable[["_Runner"], None]


def _heavy(unit: Unit) -> Unit:
    """Mark a unit that reads a whole column more than once (hash, sort, regex)."""
    unit.heavy = True  # type: ignore[attr-defined]
    return unit


# --- small helpers ----------------------------------------------------------------------------


class _Where:
    """Turns a row index into the file line a user can jump to (CSV), or none (Parquet)."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.lines = False
        if file:
            suffixes = [s.lower() for s in PurePath(file).suffixes]
            while suffixes and suffixes[-1] in _COMPRESSED:
                suffixes.pop()
            self.lines = bool(suffixes) and suffixes[-1] in _LINE_FILES

    def line(self, row: int | None) -> int | None:
        # CSV: one header line, and lines count from 1. (A quoted field holding a newline
        # shifts the rows after it; finding its exact line would mean re-reading the file.)
        return row + 2 if self.lines and row is not None and row >= 0 else None

    def at(self, row: int | None) -> str:
        if row is None or row < 0:
            return ""
        line = self.line(row)
        return f" (first at line {line})" if line is not None else f" (first at row index {row})"


def _first_true(mask: pa.ChunkedArray | pa.Array) -> int | None:
    found = pc.index(mask, True).as_py()
    return None if found is None or found < 0 else int(found)


def _count_true(mask: pa.ChunkedArray | pa.Array) -> int:
    value = pc.sum(mask).as_py()
    return int(value or 0)


def _per_value(column: pa.ChunkedArray, fn: Callable[[pa.Array], pa.Array]) -> pa.ChunkedArray:
    """Apply ``fn`` to each distinct value of a dictionary column, else to the values."""
    if not pa.types.is_dictionary(column.type):
        result: pa.ChunkedArray = fn(column)
        return result
    return pa.chunked_array(
        [pc.take(fn(chunk.dictionary), chunk.indices) for chunk in column.chunks],
        type=pa.bool_(),
    )


def _examples(column: pa.ChunkedArray, mask: pa.ChunkedArray) -> list[Any]:
    """Up to EXAMPLES distinct offending values, in the order they first appear."""
    offending = pc.filter(column, mask)
    if pa.types.is_dictionary(offending.type):
        offending = offending.cast(offending.type.value_type)
    values = pc.unique(offending).slice(0, EXAMPLES)
    return [plain(v) for v in values.to_pylist()]


def _nan_count(column: pa.ChunkedArray) -> int:
    if not pa.types.is_floating(column.type):
        return 0
    return _count_true(pc.is_nan(column))


def _missing_mask(column: pa.ChunkedArray) -> pa.ChunkedArray:
    mask = pc.is_null(column)
    if pa.types.is_floating(column.type):
        mask = pc.or_(mask, pc.fill_null(pc.is_nan(column), False))
    return mask


# --- the checks -------------------------------------------------------------------------------


class _Runner:
    def __init__(self, contract: Contract, table: pa.Table, file: str | None) -> None:
        self.contract = contract
        self.table = table
        self.rows = table.num_rows
        #: first position of each name, built once: a lookup per column must not scan them
        self.positions: dict[str, int] = {}
        for index, name in enumerate(table.column_names):
            self.positions.setdefault(name, index)
        self.where = _Where(file)
        self.file = file
        self.checks: list[Check] = []
        #: columns (or key sets) proven unique and null-free: duplicate rows are impossible
        self.proven_key = False

    def named(self, name: str) -> pa.ChunkedArray:
        # by position: table.column(name) refuses a name that appears twice in the data
        return self.table.column(self.positions[name])

    def add(
        self,
        rule: str,
        passed: bool,
        observed: Any,
        expected: Any,
        column: str | None,
        message: str,
        *,
        row: int | None = None,
        severity: str = "error",
    ) -> None:
        self.checks.append(
            Check(
                rule=rule,
                passed=passed,
                observed=observed,
                expected=expected,
                column=column,
                message=message,
                severity="warning" if severity == "warning" else "error",
                file=self.file,
                line=self.where.line(row) if not passed else None,
            )
        )

    def uncomparable(self, rule: str, column: str | None, kind: object) -> None:
        # Arrow cannot hash nested values (lists, structs, maps): say so rather than guess.
        message = f"values of type {kind} cannot be compared for equality; rule not checked"
        self.add(rule, False, None, None, column, message, severity="warning")

    # table-level ------------------------------------------------------------------------
    def presence(self) -> None:
        present = set(self.table.column_names)
        required = [n for n, s in self.contract.columns.items() if s.required]
        required += [n for n in self.contract.table.required_columns if n not in required]
        for name in required:
            found = name in present
            message = "present" if found else "required column is missing from the data"
            self.add("required", found, "present" if found else "missing", "present", name, message)

    def row_count(self) -> None:
        spec = self.contract.table
        if spec.rows_min is None and spec.rows_max is None:
            return
        low_ok = spec.rows_min is None or self.rows >= spec.rows_min
        high_ok = spec.rows_max is None or self.rows <= spec.rows_max
        wanted = (("min", spec.rows_min), ("max", spec.rows_max))
        expected = {k: v for k, v in wanted if v is not None}
        bounds = " and ".join(
            part
            for part in (
                f">= {spec.rows_min}" if spec.rows_min is not None else "",
                f"<= {spec.rows_max}" if spec.rows_max is not None else "",
            )
            if part
        )
        message = f"{self.rows} rows"
        if not (low_ok and high_ok):
            message += f"; the contract wants {bounds}"
        self.add("rows", low_ok and high_ok, self.rows, expected, None, message)

    def unexpected(self) -> None:
        policy = self.contract.table.unexpected_columns
        if policy == "allow":
            return
        known = set(self.contract.columns) | set(self.contract.table.required_columns)
        extra = [name for name in self.table.column_names if name not in known]
        message = (
            f"{len(extra)} column(s) not declared in the contract: {', '.join(extra)}"
            if extra
            else "every column is declared"
        )
        severity = "warning" if policy == "warn" else "error"
        self.add("unexpected_columns", not extra, extra, [], None, message, severity=severity)

    def primary_key(self) -> None:
        keys = self.contract.table.primary_key
        if not keys or any(k not in self.positions for k in keys):
            return  # the missing key column already failed its presence check
        columns = [self.named(k) for k in keys]
        null_mask: pa.ChunkedArray | None = None
        null_rows = 0
        if any(c.null_count for c in columns):
            for column in columns:
                mask = pc.is_null(column)
                null_mask = mask if null_mask is None else pc.or_(null_mask, mask)
            assert null_mask is not None
            null_rows = _count_true(null_mask)
        try:
            if len(columns) == 1:
                column = columns[0]
                duplicates = (self.rows - column.null_count) - distinct_count(column)
                first_dup = _first_duplicate(column)[0] if duplicates else None
            else:
                duplicates, first_dup = duplicate_rows(columns)
        except pa.ArrowNotImplementedError:
            kinds = ", ".join(str(c.type) for c in columns)
            self.uncomparable("primary_key", ", ".join(keys), kinds)
            return
        passed = duplicates == 0 and null_rows == 0
        self.proven_key = self.proven_key or passed
        first_null = _first_true(null_mask) if null_mask is not None else None
        first = min((r for r in (first_dup, first_null) if r is not None), default=None)
        label = ", ".join(keys)
        message = (
            f"({label}) is unique and never null"
            if passed
            else f"({label}): {duplicates} duplicated key(s), {null_rows} row(s) with a null key"
            + self.where.at(first)
        )
        self.add(
            "primary_key",
            passed,
            {"duplicates": duplicates, "null_rows": null_rows},
            {"duplicates": 0, "null_rows": 0},
            label if len(keys) == 1 else None,
            message,
            row=first,
        )

    def duplicate_rows(self) -> None:
        if not self.contract.table.no_duplicate_rows:
            return
        if self.proven_key:
            # A unique, null-free key makes every row distinct: no need to compare rows.
            message = "no duplicate rows (rows have a unique key)"
            self.add("no_duplicate_rows", True, 0, 0, None, message)
            return
        columns = [self.table.column(i) for i in range(self.table.num_columns)]
        try:
            count, first = duplicate_rows(columns)
        except pa.ArrowNotImplementedError:
            kinds = sorted({str(c.type) for c in columns if dtype_name(c.type) == str(c.type)})
            self.uncomparable("no_duplicate_rows", None, ", ".join(kinds))
            return
        message = (
            "no duplicate rows"
            if count == 0
            else f"{count} row(s) repeat an earlier row{self.where.at(first)}"
        )
        self.add("no_duplicate_rows", count == 0, count, 0, None, message, row=first)

    # column-level -----------------------------------------------------------------------
    def column(self, spec: ColumnSpec) -> list[Unit]:
        """The units of work for one column, in report order; the cheap ones run here."""
        column = self.named(spec.name)
        all_null = column.null_count == len(column)
        type_ok = all_null or spec.dtype is None or _accepts(spec.dtype, column.type)

        def head(runner: _Runner) -> None:
            if spec.dtype is not None:
                found = dtype_name(column.type)
                message = (
                    f"{found} ({column.type})"
                    if type_ok
                    else f"is {found} ({column.type}), the contract wants {spec.dtype}"
                )
                runner.add("dtype", type_ok, found, spec.dtype, spec.name, message)
            runner.nulls(spec, column)
            if all_null:
                runner.empty_value_checks(spec)

        units: list[Unit] = [head]
        if all_null or not type_ok:
            # Value rules on a column of another type would compare apples with pears;
            # the failing dtype check already says what is wrong.
            return units
        if (spec.min is not None or spec.max is not None) and _is_orderable(column.type):
            units.append(lambda runner: runner.bounds(spec, column))
        if spec.allowed is not None:
            units.append(lambda runner: runner.allowed(spec, column))
        if spec.regex is not None and _is_text(column.type):
            units.append(_heavy(lambda runner: runner.regex(spec, column)))
        if spec.unique:
            units.append(_heavy(lambda runner: runner.unique(spec, column)))
        return units

    def empty_value_checks(self, spec: ColumnSpec) -> None:
        for rule, wanted in (("min", spec.min), ("max", spec.max)):
            if wanted is not None:
                self.add(rule, True, None, wanted, spec.name, "no value to compare (all null)")
        none = {"count": 0, "examples": []}
        if spec.allowed is not None:
            self.add("allowed", True, none, list(spec.allowed), spec.name, "no value (all null)")
        if spec.regex is not None:
            self.add("regex", True, none, spec.regex, spec.name, "no value (all null)")
        if spec.unique:
            self.add("unique", True, 0, 0, spec.name, "no value to check (all null)")

    def nulls(self, spec: ColumnSpec, column: pa.ChunkedArray) -> None:
        if spec.nullable and spec.max_null_share is None:
            return
        count = column.null_count + _nan_count(column)
        share = count / self.rows if self.rows else 0.0
        observed = {"nulls": count, "share": share}
        if not spec.nullable:
            passed = count == 0
            row = None if passed else _first_true(_missing_mask(column))
            message = (
                "no missing value" if passed else f"{count} missing value(s){self.where.at(row)}"
            )
            self.add("nullable", passed, observed, 0, spec.name, message, row=row)
            return
        limit = float(spec.max_null_share or 0.0)
        passed = share <= limit
        message = f"{count} missing value(s), share {share:.4g}" + (
            "" if passed else f" > {limit:.4g} allowed"
        )
        self.add("max_null_share", passed, observed, limit, spec.name, message)

    def bounds(self, spec: ColumnSpec, column: pa.ChunkedArray) -> None:
        found = pc.min_max(column)
        for rule, wanted, key in (("min", spec.min, "min"), ("max", spec.max, "max")):
            if wanted is None:
                continue
            observed = _as_comparable(found[key], column.type)
            bound = _bound_value(wanted, column.type)
            if observed is None:
                self.add(rule, True, None, wanted, spec.name, "no value to compare")
                continue
            passed = observed >= bound if rule == "min" else observed <= bound
            row = None
            if not passed:
                scalar = _bound_scalar(bound, column.type)
                mask = pc.less(column, scalar) if rule == "min" else pc.greater(column, scalar)
                row = _first_true(mask)
                count = _count_true(mask)
                word = "below" if rule == "min" else "above"
                message = (
                    f"{rule} is {plain(observed)}; {count} value(s) {word} {wanted}"
                    + self.where.at(row)
                )
            else:
                message = f"{rule} is {plain(observed)}"
            self.add(rule, passed, plain(observed), wanted, spec.name, message, row=row)

    def allowed(self, spec: ColumnSpec, column: pa.ChunkedArray) -> None:
        assert spec.allowed is not None
        value_type = _value_type(column.type)
        try:
            value_set = pa.array(list(spec.allowed), type=value_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            # Some allowed value cannot even be stored in this column's type (e.g. text
            # for a number column): keep the ones that can; the others cannot occur.
            kept = [v for v in spec.allowed if _fits(v, value_type)]
            value_set = pa.array(kept, type=value_type)
        inside = _per_value(column, lambda values: pc.is_in(values, value_set=value_set))
        nulls = column.null_count
        # is_in says False for a null; nulls are the nullable rule's business, not this one's.
        offending = (len(column) - nulls) - _count_true(pc.fill_null(inside, False))
        expected = list(spec.allowed)
        what = "not in the allowed list"
        self._value_rule("allowed", spec, column, inside, offending, expected, what)

    def regex(self, spec: ColumnSpec, column: pa.ChunkedArray) -> None:
        assert spec.regex is not None
        pattern = full_match_pattern(spec.regex)
        try:
            matches = _per_value(column, lambda v: pc.match_substring_regex(v, pattern=pattern))
        except pa.ArrowInvalid as exc:
            # load_contract refuses such patterns; a ColumnSpec built by hand may not
            raise InputError(
                f"column {spec.name!r}: RE2 cannot run regex {spec.regex!r} "
                f"({first_line(exc, 120)}); rewrite it without lookaround or backreferences"
            ) from None
        offending = (len(column) - column.null_count) - _count_true(pc.fill_null(matches, False))
        what = "do not match the regex"
        self._value_rule("regex", spec, column, matches, offending, spec.regex, what)

    def _value_rule(
        self,
        rule: str,
        spec: ColumnSpec,
        column: pa.ChunkedArray,
        good: pa.ChunkedArray,
        offending: int,
        expected: Any,
        what: str,
    ) -> None:
        if offending == 0:
            self.add(
                rule, True, {"count": 0, "examples": []}, expected, spec.name, "every value passes"
            )
            return
        # is_in gives False (not null) for a null value; nulls belong to the nullable rule.
        bad = pc.and_(pc.invert(pc.fill_null(good, True)), pc.is_valid(column))
        row = _first_true(bad)
        examples = _examples(column, bad)
        shown = ", ".join(repr(e) for e in examples)
        message = f"{offending} value(s) {what}, e.g. {shown}{self.where.at(row)}"
        observed = {"count": offending, "examples": examples}
        self.add(rule, False, observed, expected, spec.name, message, row=row)

    def unique(self, spec: ColumnSpec, column: pa.ChunkedArray) -> None:
        try:
            duplicates = (len(column) - column.null_count) - distinct_count(column)
        except pa.ArrowNotImplementedError:
            self.uncomparable("unique", spec.name, column.type)
            return
        if duplicates == 0:
            self.proven_key = self.proven_key or column.null_count == 0
            self.add("unique", True, 0, 0, spec.name, "every value is unique")
            return
        row, examples = _first_duplicate(column)
        shown = ", ".join(repr(e) for e in examples)
        message = f"{duplicates} value(s) repeat an earlier one, e.g. {shown}{self.where.at(row)}"
        self.add("unique", False, duplicates, 0, spec.name, message, row=row)


def _fits(value: Any, arrow_type: pa.DataType) -> bool:
    try:
        pa.array([value], type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return False
    return True


def _first_duplicate(column: pa.ChunkedArray) -> tuple[int | None, list[Any]]:
    """Index of the first row repeating an earlier non-null value, and example values."""
    row = first_duplicate(column)
    if row is None:
        return None, []
    # examples: values of the rows up to the first repeat that occur more than once
    head = column.slice(0, row + 1)
    repeated = pc.is_in(head, value_set=pc.unique(column.slice(row, 1)).drop_null())
    return row, _examples(head, pc.fill_null(repeated, False))


def _as_comparable(scalar: pa.Scalar, arrow_type: pa.DataType) -> Any:
    if not scalar.is_valid:
        return None
    if pa.types.is_timestamp(arrow_type) and arrow_type.unit == "ns":
        # as_py cannot hold nanoseconds in a datetime; microseconds are enough for a bound
        scalar = pc.cast(scalar, pa.timestamp("us", tz=arrow_type.tz), safe=False)
    value = scalar.as_py()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _bound_value(wanted: Any, arrow_type: pa.DataType) -> Any:
    if not isinstance(wanted, str):
        return wanted
    bound = datetime.fromisoformat(wanted)
    aware = pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None
    if aware and bound.tzinfo is None:
        return bound.replace(tzinfo=UTC)  # a naive bound on zoned data is read as UTC
    if not aware and bound.tzinfo is not None:
        return bound.astimezone(UTC).replace(tzinfo=None)
    return bound


def _bound_scalar(bound: Any, arrow_type: pa.DataType) -> pa.Scalar:
    if isinstance(bound, datetime):
        if pa.types.is_date(arrow_type):
            return pa.scalar(bound.date(), type=arrow_type)
        return pa.scalar(bound, type=pa.timestamp("us", tz=getattr(arrow_type, "tz", None)))
    if pa.types.is_integer(arrow_type) and isinstance(bound, float):
        return pa.scalar(bound, type=pa.float64())
    try:
        return pa.scalar(bound, type=arrow_type)
    except (pa.ArrowInvalid, OverflowError):
        return pa.scalar(float(bound), type=pa.float64())


def _workers(rows: int) -> int:
    if rows < _PARALLEL_ROWS:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def run_checks(contract: Contract, table: pa.Table, *, file: str | None = None) -> list[Check]:
    """Every rule of ``contract`` on ``table``; ``file`` names the data in each Check.

    The rules run in a small thread pool: Arrow kernels and numpy release the GIL, so on a
    big table the regex of one column and the uniqueness of another use separate cores.
    Checks come back in a fixed order whatever finished first.
    """
    runner = _Runner(contract, table, file)
    units: list[Unit] = [
        lambda r: r.row_count(),
        lambda r: r.presence(),
        lambda r: r.unexpected(),
    ]
    for spec in contract.columns.values():
        if spec.name in runner.positions:
            units += runner.column(spec)
    units.append(_heavy(lambda r: r.primary_key()))

    def run(unit: Unit) -> _Runner:
        fork = copy.copy(runner)
        fork.checks = []
        fork.proven_key = False
        unit(fork)
        return fork

    workers = _workers(table.num_rows)
    if workers == 1:
        done = [run(unit) for unit in units]
    else:
        # the long units start first, so the short ones fill the gaps instead of the
        # long ones ending the run on one core
        order = sorted(range(len(units)), key=lambda i: not getattr(units[i], "heavy", False))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="modelci-check") as pool:
            futures = {i: pool.submit(run, units[i]) for i in order}
            done = [futures[i].result() for i in range(len(units))]
    for fork in done:
        runner.checks += fork.checks
        runner.proven_key = runner.proven_key or fork.proven_key
    # last: a unique key proven above spares comparing whole rows
    runner.duplicate_rows()
    return runner.checks
