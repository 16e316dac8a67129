"""Each contract rule on a passing and a failing table: verdict, observed, expected, line."""

from __future__ import annotations

from datetime import date as date_
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelci.contract import duplicates
from modelci.contract.checks import run_checks
from modelci.contract.model import ColumnSpec, Contract, TableSpec, parse_contract
from modelci.errors import DataError, InputError
from modelci.results import Check


def contract(columns: dict[str, Any], **table: Any) -> Contract:
    data: dict[str, Any] = {"version": 1, "columns": columns}
    if table:
        data["table"] = table
    return parse_contract(data, "contract.yaml")


def only(checks: list[Check], rule: str, column: str | None = None) -> Check:
    found = [c for c in checks if c.rule == rule and (column is None or c.column == column)]
    assert len(found) == 1, [c.name for c in checks]
    return found[0]


def rules(checks: list[Check], column: str) -> list[str]:
    return [c.rule for c in checks if c.column == column]


# --- presence -----------------------------------------------------------------------------------


def test_declared_columns_are_required_and_a_missing_one_fails_alone() -> None:
    c = contract({"a": {"dtype": "integer", "min": 0}, "b": {"dtype": "integer", "unique": True}})
    checks = run_checks(c, pa.table({"a": [1, 2]}), file="d.parquet")
    assert only(checks, "required", "a").passed
    missing = only(checks, "required", "b")
    assert (missing.passed, missing.observed, missing.expected) == (False, "missing", "present")
    assert missing.file == "d.parquet"
    # the other rules of a missing column are not emitted
    assert rules(checks, "b") == ["required"]


def test_optional_column_may_be_absent() -> None:
    c = contract({"a": {}, "note": {"dtype": "string", "required": False}})
    checks = run_checks(c, pa.table({"a": [1]}))
    assert all(c.passed for c in checks)
    assert rules(checks, "note") == []


def test_required_columns_beyond_the_declared_ones() -> None:
    c = contract({"a": {}}, required_columns=["extra"], unexpected_columns="allow")
    assert not only(run_checks(c, pa.table({"a": [1]})), "required", "extra").passed
    assert only(run_checks(c, pa.table({"a": [1], "extra": [2]})), "required", "extra").passed


# --- dtype --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "values", "passed", "observed"),
    [
        ("integer", pa.array([1, 2], pa.int8()), True, "integer"),
        ("integer", pa.array([1.0, 2.0]), False, "float"),
        ("float", pa.array([1, 2]), True, "integer"),
        ("number", pa.array([1, 2], pa.uint32()), True, "integer"),
        ("number", pa.array(["1"]), False, "string"),
        ("string", pa.array(["x"], pa.large_string()), True, "string"),
        ("string", pa.array(["x", "y"]).dictionary_encode(), True, "category"),
        ("category", pa.array(["x", "y"]).dictionary_encode(), True, "category"),
        ("category", pa.array(["x"]), True, "string"),
        ("boolean", pa.array([True]), True, "boolean"),
        ("boolean", pa.array([1]), False, "integer"),
        ("datetime", pa.array([datetime(2024, 1, 1)]), True, "datetime"),
        ("datetime", pa.array(["2024-01-01"]), False, "string"),
        ("integer", pa.array([None, None], pa.string()), True, "string"),  # all null: any dtype
        ("float", pa.nulls(3), True, "null"),
    ],
)
def test_dtype(wanted: str, values: pa.Array, passed: bool, observed: str) -> None:
    checks = run_checks(contract({"x": {"dtype": wanted}}), pa.table({"x": values}))
    check = only(checks, "dtype", "x")
    assert (check.passed, check.observed, check.expected) == (passed, observed, wanted)


def test_value_rules_are_not_run_on_a_column_of_the_wrong_type() -> None:
    c = contract({"age": {"dtype": "integer", "min": 0, "max": 9}})
    checks = run_checks(c, pa.table({"age": ["3", "x"]}))
    assert not only(checks, "dtype", "age").passed
    assert rules(checks, "age") == ["required", "dtype"]


# --- nulls --------------------------------------------------------------------------------------


def test_nullable_false() -> None:
    c = contract({"a": {"nullable": False}})
    ok = only(run_checks(c, pa.table({"a": [1.0, 2.0]})), "nullable")
    assert (ok.passed, ok.observed, ok.expected) == (True, {"nulls": 0, "share": 0.0}, 0)
    # NaN counts as missing, like a null
    bad = only(
        run_checks(c, pa.table({"a": [1.0, None, float("nan"), 4.0]}), file="d.csv"), "nullable"
    )
    assert (bad.passed, bad.observed) == (False, {"nulls": 2, "share": 0.5})
    assert bad.line == 3  # row index 1, after the header line
    assert "2 missing value(s) (first at line 3)" in bad.message


def test_max_null_share() -> None:
    c = contract({"a": {"max_null_share": 0.25}})
    ok = only(run_checks(c, pa.table({"a": [1, None, 3, 4]})), "max_null_share")
    assert (ok.passed, ok.observed, ok.expected) == (True, {"nulls": 1, "share": 0.25}, 0.25)
    bad = only(run_checks(c, pa.table({"a": [1, None, None, 4]})), "max_null_share")
    assert (bad.passed, bad.observed["share"]) == (False, 0.5)
    assert "share 0.5 > 0.25 allowed" in bad.message


def test_no_null_rule_no_null_check() -> None:
    checks = run_checks(contract({"a": {"dtype": "integer"}}), pa.table({"a": [None, 1]}))
    assert rules(checks, "a") == ["required", "dtype"]


# --- min / max ----------------------------------------------------------------------------------


def test_min_and_max_pass_with_the_observed_extremes() -> None:
    c = contract({"age": {"dtype": "integer", "min": 0, "max": 120}})
    checks = run_checks(c, pa.table({"age": [3, None, 120, 0]}))
    low, high = only(checks, "min"), only(checks, "max")
    assert (low.passed, low.observed, low.expected) == (True, 0, 0)
    assert (high.passed, high.observed, high.expected) == (True, 120, 120)


def test_min_and_max_fail_naming_the_first_offending_row() -> None:
    c = contract({"age": {"dtype": "integer", "min": 0, "max": 120}})
    checks = run_checks(c, pa.table({"age": [3, 130, -1, -5, 7]}), file="people.csv")
    low, high = only(checks, "min"), only(checks, "max")
    assert (low.passed, low.observed, low.line) == (False, -5, 4)
    assert "2 value(s) below 0 (first at line 4)" in low.message
    assert (high.passed, high.observed, high.line) == (False, 130, 3)
    parquet = run_checks(c, pa.table({"age": [3, 130]}), file="people.parquet")
    assert only(parquet, "max").line is None
    assert "(first at row index 1)" in only(parquet, "max").message


def test_float_bounds_on_float_and_integer_data() -> None:
    c = contract({"p": {"dtype": "number", "min": 0.5, "max": 1}})
    checks = run_checks(c, pa.table({"p": [0.25, 0.75, float("nan")]}))
    assert (only(checks, "min").passed, only(checks, "min").observed) == (False, 0.25)
    assert only(checks, "max").passed
    checks = run_checks(c, pa.table({"p": pa.array([1, 1], pa.int16())}))
    assert only(checks, "min").passed and only(checks, "max").passed


def test_datetime_bounds() -> None:
    c = contract({"t": {"dtype": "datetime", "min": "2024-01-01", "max": "2024-12-31T23:59"}})
    times = pa.array([datetime(2024, 5, 1), datetime(2023, 12, 31, 12)], pa.timestamp("ns"))
    checks = run_checks(c, pa.table({"t": times}))
    low = only(checks, "min")
    assert (low.passed, low.observed, low.expected) == (False, "2023-12-31T12:00:00", "2024-01-01")
    assert only(checks, "max").passed
    zoned = pa.array([datetime(2024, 5, 1)], pa.timestamp("us", tz="UTC"))
    assert all(c.passed for c in run_checks(c, pa.table({"t": zoned})))


def test_all_null_column_passes_value_rules() -> None:
    c = contract({"a": {"dtype": "integer", "min": 0, "allowed": [1], "unique": True}})
    checks = run_checks(c, pa.table({"a": pa.nulls(3, pa.int64())}))
    assert all(c.passed for c in checks)
    assert only(checks, "min").observed is None


# --- allowed ------------------------------------------------------------------------------------


def test_allowed() -> None:
    c = contract({"sex": {"dtype": "string", "allowed": ["M", "F"]}})
    ok = only(run_checks(c, pa.table({"sex": ["M", None, "F"]})), "allowed")
    assert (ok.passed, ok.observed, ok.expected) == (True, {"count": 0, "examples": []}, ["M", "F"])
    data = pa.table({"sex": ["M", "x", None, "y", "x", "F", "a", "b", "c", "d"]})
    bad = only(run_checks(c, data, file="d.csv"), "allowed")
    assert bad.passed is False
    assert bad.observed == {"count": 7, "examples": ["x", "y", "a", "b", "c"]}
    assert bad.line == 3


def test_allowed_on_dictionary_and_integer_columns() -> None:
    c = contract({"s": {"allowed": ["a", "b"]}, "n": {"dtype": "integer", "allowed": [1, 2]}})
    data = pa.table(
        {
            "s": pa.array(["a", "c", None, "c"]).dictionary_encode(),
            "n": pa.array([1, 3, 2, 9], pa.int8()),
        }
    )
    checks = run_checks(c, data)
    assert only(checks, "allowed", "s").observed == {"count": 2, "examples": ["c"]}
    assert only(checks, "allowed", "n").observed == {"count": 2, "examples": [3, 9]}


# --- regex --------------------------------------------------------------------------------------


def test_regex_must_match_the_whole_value() -> None:
    c = contract({"code": {"dtype": "string", "regex": "[A-Z]{2}[0-9]+"}})
    ok = only(run_checks(c, pa.table({"code": ["AB12", None, "ZZ0"]})), "regex")
    assert (ok.passed, ok.expected) == (True, "[A-Z]{2}[0-9]+")
    # "xAB12" and "AB12x" contain a match but are not one
    bad = only(run_checks(c, pa.table({"code": ["AB12", "xAB12", "AB12x"]}), file="d.csv"), "regex")
    assert bad.observed == {"count": 2, "examples": ["xAB12", "AB12x"]}
    assert bad.line == 3


@pytest.mark.parametrize(
    ("regex", "construct"),
    [
        (r"(\w)\1+", r"invalid escape sequence: \1"),  # a backreference
        ("(a+)+(?!x)", "invalid perl operator: (?!"),  # lookahead: Python's re hangs on it
        ("(?<=a)b", "invalid perl operator: (?<="),
        ("a++", "bad repetition operator: ++"),
    ],
)
def test_regex_that_re2_cannot_run_is_refused(regex: str, construct: str) -> None:
    # Python's re would backtrack without limit on ("a" * 40 + "!") with (a+)+(?!x)
    with pytest.raises(DataError) as caught:
        contract({"w": {"dtype": "string", "regex": regex}})
    message = str(caught.value)
    assert message.startswith("contract.yaml: columns.w.regex: column 'w': RE2 cannot run")
    assert f"({construct})" in message
    assert caught.value.exit_code == 2


def test_a_hand_built_spec_with_a_pattern_re2_refuses_is_an_input_error() -> None:
    spec = ColumnSpec(name="w", dtype="string", regex="(a+)+(?!x)")
    built = Contract(columns={"w": spec}, table=TableSpec(), path=Path("c.yaml"))
    with pytest.raises(InputError, match="column 'w': RE2 cannot run regex"):
        run_checks(built, pa.table({"w": ["a" * 40 + "!"]}))


def test_regex_on_a_dictionary_column() -> None:
    c = contract({"w": {"regex": "[a-z]+"}})
    data = pa.table({"w": pa.array(["ok", "NO", "ok", None]).dictionary_encode()})
    assert only(run_checks(c, data), "regex").observed == {"count": 1, "examples": ["NO"]}


# --- unique -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        pa.array([3, 1, None, 2, None]),  # small range: bitmap path
        pa.array([10**15, -(10**15), None, 7]),  # wide range: hashed path
        pa.array(["a", "b", None, "c", None]),
        pa.array([0.5, -0.0, None]),
    ],
)
def test_unique_passes_and_ignores_nulls(values: pa.Array) -> None:
    check = only(run_checks(contract({"a": {"unique": True}}), pa.table({"a": values})), "unique")
    assert (check.passed, check.observed, check.expected) == (True, 0, 0)


@pytest.mark.parametrize(
    ("values", "duplicates", "line", "example"),
    [
        (pa.array([3, 1, 3, 3, None]), 2, 4, 3),
        (pa.array([10**15, 5, -(10**15), 5]), 1, 5, 5),
        (pa.array(["a", "b", "b", None, "a"]), 2, 4, "b"),
        (pa.array(["x" * 40 + "1", "x" * 40 + "2", "x" * 40 + "1"]), 1, 4, "x" * 40 + "1"),
        (pa.array([0.0, -0.0, 1.0]), 1, 3, -0.0),
    ],
)
def test_unique_fails_with_the_number_of_repeats(
    values: pa.Array, duplicates: int, line: int, example: Any
) -> None:
    checks = run_checks(contract({"a": {"unique": True}}), pa.table({"a": values}), file="d.csv")
    check = only(checks, "unique")
    assert (check.passed, check.observed, check.line) == (False, duplicates, line)
    assert repr(example) in check.message


# --- table rules --------------------------------------------------------------------------------


def test_rows() -> None:
    c = contract({"a": {}}, rows={"min": 2, "max": 3})
    ok = only(run_checks(c, pa.table({"a": [1, 2]})), "rows")
    assert (ok.passed, ok.observed, ok.expected) == (True, 2, {"min": 2, "max": 3})
    bad = only(run_checks(c, pa.table({"a": [1, 2, 3, 4]})), "rows")
    assert (bad.passed, bad.observed) == (False, 4)
    assert "the contract wants >= 2 and <= 3" in bad.message
    assert not only(run_checks(c, pa.table({"a": [1]})), "rows").passed


def test_primary_key_single_column() -> None:
    c = contract({"id": {}}, primary_key=["id"])
    ok = only(run_checks(c, pa.table({"id": [1, 2, 3]})), "primary_key")
    assert (ok.passed, ok.observed) == (True, {"duplicates": 0, "null_rows": 0})
    bad = only(run_checks(c, pa.table({"id": [1, None, 1]}), file="d.csv"), "primary_key")
    assert (bad.passed, bad.observed, bad.line) == (False, {"duplicates": 1, "null_rows": 1}, 3)


def test_primary_key_composite() -> None:
    c = contract({"a": {}, "b": {}}, primary_key=["a", "b"])
    ok = run_checks(c, pa.table({"a": [1, 1, 2], "b": ["x", "y", "x"]}))
    assert only(ok, "primary_key").passed
    bad = only(
        run_checks(c, pa.table({"a": [1, 2, 1, 1], "b": ["x", "y", "x", "x"]})), "primary_key"
    )
    assert bad.observed == {"duplicates": 2, "null_rows": 0}
    assert bad.expected == {"duplicates": 0, "null_rows": 0}


def test_no_duplicate_rows() -> None:
    c = contract({"a": {}, "b": {}}, no_duplicate_rows=True)
    ok = only(
        run_checks(c, pa.table({"a": [1, 1, None], "b": ["x", "y", "x"]})), "no_duplicate_rows"
    )
    assert (ok.passed, ok.observed, ok.expected) == (True, 0, 0)
    data = pa.table({"a": [1, 2, 1, None, None], "b": ["x", "y", "x", None, None]})
    bad = only(run_checks(c, data, file="d.csv"), "no_duplicate_rows")
    assert (bad.passed, bad.observed, bad.line) == (False, 2, 4)


def test_a_passing_primary_key_proves_rows_distinct() -> None:
    c = contract({"id": {}, "v": {}}, primary_key=["id"], no_duplicate_rows=True)
    check = only(run_checks(c, pa.table({"id": [1, 2], "v": [0, 0]})), "no_duplicate_rows")
    assert check.passed and "unique key" in check.message


@pytest.mark.parametrize(("policy", "severity"), [("fail", "error"), ("warn", "warning")])
def test_unexpected_columns(policy: str, severity: str) -> None:
    c = contract({"a": {}}, unexpected_columns=policy)
    assert only(run_checks(c, pa.table({"a": [1]})), "unexpected_columns").passed
    bad = only(run_checks(c, pa.table({"a": [1], "z": [2], "y": [3]})), "unexpected_columns")
    assert (bad.passed, bad.observed, bad.expected, bad.severity) == (
        False,
        ["z", "y"],
        [],
        severity,
    )
    assert bad.blocking is (policy == "fail")


def test_unexpected_columns_allowed_emits_nothing() -> None:
    c = contract({"a": {}}, unexpected_columns="allow")
    checks = run_checks(c, pa.table({"a": [1], "z": [2]}))
    assert [c.rule for c in checks] == ["required"]


def test_every_check_names_the_file() -> None:
    c = contract({"a": {"dtype": "integer", "min": 5}}, rows={"min": 1})
    checks = run_checks(c, pa.table({"a": [1]}), file="data/train.csv")
    assert {c.file for c in checks} == {"data/train.csv"}
    assert only(checks, "min").line == 2


# --- exactness of the duplicate machinery --------------------------------------------------------


def test_forced_hash_collisions_never_cause_a_false_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = duplicates.value_hashes

    def colliding(column: pa.ChunkedArray) -> tuple[Any, Any]:
        hashes, valid = real(column)
        return np.zeros_like(hashes), valid  # every row collides with every other

    monkeypatch.setattr(duplicates, "value_hashes", colliding)
    column = pa.chunked_array([pa.array(["a", "b", "c"]), pa.array(["d", "b"])])
    assert duplicates.distinct_count(column) == 4
    assert duplicates.first_duplicate(column) == 4
    assert duplicates.duplicate_rows([column]) == (1, 4)
    distinct = pa.chunked_array([pa.array(["a", "b", "c"])])
    assert duplicates.duplicate_rows([distinct, distinct]) == (0, None)
    c = contract({"s": {"unique": True}}, no_duplicate_rows=True)
    checks = run_checks(c, pa.table({"s": ["p", "q", "r"]}))
    assert all(check.passed for check in checks)


cells = st.one_of(st.none(), st.integers(-3, 3))
texts = st.one_of(st.none(), st.sampled_from(["", "a", "ab", "abcdefghi", "abcdefghj"]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(cells, texts), min_size=0, max_size=30),
    st.integers(1, 4),
)
def test_duplicates_match_a_python_reference(rows: list[tuple[Any, Any]], chunks: int) -> None:
    ints = [r[0] for r in rows]
    strs = [r[1] for r in rows]
    size = max(1, len(rows) // chunks)

    def chunked(values: list[Any], kind: pa.DataType) -> pa.ChunkedArray:
        parts = [values[i : i + size] for i in range(0, len(values), size)] or [[]]
        return pa.chunked_array([pa.array(p, kind) for p in parts], kind)

    a, b = chunked(ints, pa.int64()), chunked(strs, pa.string())
    assert duplicates.distinct_count(a) == len({v for v in ints if v is not None})
    assert duplicates.distinct_count(b) == len({v for v in strs if v is not None})
    seen: set[tuple[Any, Any]] = set()
    repeats, first = 0, None
    for i, row in enumerate(rows):
        if row in seen:
            repeats += 1
            first = i if first is None else first
        seen.add(row)
    assert duplicates.duplicate_rows([a, b]) == (repeats, first)


def test_decimal_and_date_columns_report_plain_values() -> None:
    from datetime import date
    from decimal import Decimal

    c = contract(
        {
            "price": {"dtype": "number", "min": 1, "max": 5},
            "day": {"dtype": "datetime", "min": "2024-02-01"},
        }
    )
    data = pa.table(
        {
            "price": pa.array([Decimal("0.50"), Decimal("2.25")], pa.decimal128(5, 2)),
            "day": pa.array([date(2024, 1, 31), date(2024, 3, 1)], pa.date32()),
        }
    )
    checks = run_checks(c, data)
    price = only(checks, "min", "price")
    assert (price.passed, price.observed) == (False, 0.5)
    assert only(checks, "max", "price").passed
    day = only(checks, "min", "day")
    assert (day.passed, day.observed) == (False, "2024-01-31T00:00:00")
    assert day.to_dict()["observed"] == "2024-01-31T00:00:00"


def test_a_column_name_that_appears_twice_in_the_data() -> None:
    data = pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 3])], names=["a", "a"])
    checks = run_checks(contract({"a": {"unique": True}}), data)
    assert only(checks, "unique").passed  # the first column named a


@pytest.mark.parametrize(
    ("values", "distinct"),
    [
        (pa.array(["aa", "b", "aa", None, "b", "c"]), 3),
        (pa.array(["x", "y", "x", "z"]).dictionary_encode(), 3),
        (pa.array([Decimal("1.5"), Decimal("2"), Decimal("1.5"), None, Decimal("3")]), 3),
        (pa.array([date_(2024, 1, 1), date_(2024, 1, 2), date_(2024, 1, 1)]), 2),
        (pa.array([b"\x00", b"\x00\x00", b"\x00"]), 2),
    ],
)
def test_hashing_agrees_across_block_and_chunk_boundaries(
    values: pa.Array, distinct: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duplicates, "BLOCK", 2)
    halves = pa.chunked_array([values.slice(0, 3), values.slice(3)])
    assert duplicates.distinct_count(halves) == distinct
    count, _ = duplicates.duplicate_rows([halves])
    non_null = len(values) - values.null_count
    assert count == (non_null - distinct) + max(0, values.null_count - 1)


def test_nested_values_that_cannot_be_compared_give_a_warning_not_a_crash() -> None:
    c = contract({"a": {}, "l": {"unique": True}}, primary_key=["l"], no_duplicate_rows=True)
    checks = run_checks(c, pa.table({"a": [1, 1], "l": [[1], [1]]}))
    for rule in ("unique", "primary_key", "no_duplicate_rows"):
        check = only(checks, rule)
        assert (check.passed, check.severity) == (False, "warning")
        assert "list<item: int64>" in check.message
        assert not check.blocking


def test_values_equal_across_blocks_are_found_for_every_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(duplicates, "BLOCK", 1)  # hashing steps of 16 rows
    for make in (Decimal, str, float):
        values = [make(i) for i in range(40)] + [make(3), make(39)]
        column = pa.chunked_array([pa.array(values[:25]), pa.array(values[25:])])
        assert duplicates.distinct_count(column) == 40, make
    nested = pa.chunked_array([pa.array([[1], [2]]), pa.array([[2]])])
    with pytest.raises(pa.ArrowNotImplementedError):
        duplicates.distinct_count(nested)  # refused, never miscounted
