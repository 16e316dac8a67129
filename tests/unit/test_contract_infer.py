"""Inferred contracts: valid against the schema, and passed by the data they came from."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pytest
import yaml

from modelci.contract.checks import run_checks
from modelci.contract.infer import infer_contract, widen, write_contract
from modelci.contract.model import contract_schema, load_contract, parse_contract
from modelci.errors import InputError


def roundtrip(table: pa.Table, tmp_path: Path, **kwargs: Any) -> tuple[dict[str, Any], Path]:
    data = infer_contract(table, **kwargs)
    jsonschema.validate(data, contract_schema())
    path = write_contract(data, tmp_path / "contract.yaml", header="inferred from test data")
    return data, path


def test_breast_cancer_contract_passes_on_its_own_data(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    table = pa.Table.from_pandas(frame, preserve_index=False)
    _, path = roundtrip(table, tmp_path, target="target")
    contract = load_contract(path)
    assert list(contract.columns) == list(frame.columns)
    radius = contract.columns["mean radius"]
    assert radius.dtype == "float"
    assert radius.nullable is False
    assert radius.min == 0  # widened, but never below zero: the column has no negative value
    assert isinstance(radius.max, float) and radius.max > frame["mean radius"].max()
    assert radius.unique is False  # all-distinct floats are chance, not a rule
    assert contract.columns["target"].dtype == "integer"
    assert contract.columns["target"].role == "target"
    assert contract.target == "target"
    assert (contract.table.rows_min, contract.table.rows_max) == (1, None)
    assert contract.table.unexpected_columns == "fail"
    assert contract.table.no_duplicate_rows is False
    checks = run_checks(contract, table, file="breast_cancer.parquet")
    assert checks and all(c.passed for c in checks), [c.message for c in checks if not c.passed]


def mixed_table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([10, 11, 12, 13, 14, 15], pa.int32()),
            "code": ["a1", "b2", "c3", "d4", "e5", "f6"],
            "sex": ["M", "F", None, "F", "M", "M"],
            "score": [0.5, None, float("nan"), 2.25, -1.0, 0.0],
            "ok": [True, False, True, None, True, True],
            "seen": pa.array(
                [datetime(2024, 1, d, 12, 30, 15, 123456) for d in range(1, 7)], pa.timestamp("ns")
            ),
            "tier": pa.array(
                ["gold", "silver", "gold", "gold", "bronze", "silver"]
            ).dictionary_encode(),
            "empty": pa.nulls(6, pa.string()),
            "big": pa.array([10**12, 3, 3, 7, 7, 7]),
        }
    )


def test_mixed_table_infers_each_rule(tmp_path: Path) -> None:
    table = mixed_table()
    data, path = roundtrip(table, tmp_path)
    columns = data["columns"]
    # named id and all distinct: an identifier, the primary key, with no range
    assert columns["id"] == {"dtype": "integer", "role": "id", "nullable": False}
    assert data["table"]["primary_key"] == ["id"]
    # six distinct codes, each seen once: neither a key (too few) nor a category (too rare)
    assert columns["code"] == {"dtype": "string", "nullable": False}
    # a value seen fewer than 5 times says other values may be missing: no allowed list
    assert columns["sex"] == {"dtype": "string", "max_null_share": 1.0}
    assert columns["score"]["max_null_share"] == 1.0  # 2 of 6 missing: a tiny sample
    assert columns["score"]["min"] < -1.0 and columns["score"]["max"] > 2.25
    assert columns["ok"] == {"dtype": "boolean", "max_null_share": 1.0}
    # the span (5 days) on each side, to midnight
    assert (columns["seen"]["min"], columns["seen"]["max"]) == (
        "2023-12-27T00:00:00",
        "2024-01-12T00:00:00",
    )
    assert columns["tier"]["dtype"] == "category"
    assert columns["empty"] == {}
    # a tail from 7 to 10**12 widens past what int64 holds: no max at all
    assert columns["big"]["min"] == 0 and "max" not in columns["big"]
    assert "unique" not in columns["big"]
    assert "no_duplicate_rows" not in data["table"]
    assert data["table"]["rows"] == {"min": 1}
    contract = load_contract(path)
    checks = run_checks(contract, table)
    assert all(c.passed for c in checks), [c.message for c in checks if not c.passed]


def test_allowed_lists_need_every_value_seen_five_times() -> None:
    tiers = ["gold"] * 10 + ["silver"] * 6 + ["bronze"] * 5
    data = infer_contract(pa.table({"tier": pa.array(tiers).dictionary_encode()}))
    assert data["columns"]["tier"]["allowed"] == ["bronze", "gold", "silver"]
    rare = infer_contract(pa.table({"tier": [*tiers, "platinum"]}))
    assert "allowed" not in rare["columns"]["tier"]
    few = infer_contract(pa.table({"tier": tiers}), max_categories=2)
    assert "allowed" not in few["columns"]["tier"]


def test_duplicate_rows_are_not_promised() -> None:
    data = infer_contract(pa.table({"a": [1, 1], "b": ["x", "x"]}))
    assert "no_duplicate_rows" not in data["table"]
    assert "unique" not in data["columns"]["a"]


def test_inferred_contract_catches_new_bad_data(tmp_path: Path) -> None:
    _, path = roundtrip(mixed_table(), tmp_path)
    contract = load_contract(path)
    worse = mixed_table().set_column(0, "id", pa.array([10, 10, 12, 13, 14, 99], pa.int32()))
    worse = worse.set_column(8, "big", pa.array([-1, 3, 3, 7, 7, 7]))
    failed = {c.name for c in run_checks(contract, worse) if not c.passed}
    assert failed == {"id: primary_key", "big: min"}


def test_identifiers_are_keys_without_range_or_drift(tmp_path: Path) -> None:
    rows = 200
    table = pa.table(
        {
            "row": pa.array(range(rows), pa.int64()),  # distinct in a narrow range: a key
            "customer_id": pa.array([7_000_000 + 37 * i for i in range(rows)]),  # by name
            "sample": [f"S-{i:05d}" for i in range(rows)],  # distinct text beyond 20 values
            "amount": pa.array([1_000 + i * 9_973 % 100_003 for i in range(rows)]),  # chance
            "comment": [f"note {i % 150}" for i in range(rows)],  # free text
        }
    )
    data, path = roundtrip(table, tmp_path)
    columns = data["columns"]
    for name in ("row", "customer_id", "sample"):
        assert columns[name]["role"] == "id", name
        assert "min" not in columns[name] and "allowed" not in columns[name]
    assert data["table"]["primary_key"] == ["row"]
    assert columns["customer_id"]["unique"] is True and columns["sample"]["unique"] is True
    assert "role" not in columns["amount"] and "unique" not in columns["amount"]
    assert columns["comment"] == {"dtype": "string", "nullable": False, "drift": False}
    contract = load_contract(path)
    assert contract.drift_skipped() == {
        "row": "role: id in the contract",
        "customer_id": "role: id in the contract",
        "sample": "role: id in the contract",
        "comment": "drift: false in the contract",
    }
    # a later batch brings new ids: it passes
    later = pa.table(
        {
            "row": pa.array(range(rows, 2 * rows), pa.int64()),
            "customer_id": pa.array([9_000_000 + i for i in range(rows)]),
            "sample": [f"S-{i:05d}" for i in range(rows, 2 * rows)],
            "amount": table.column("amount"),
            "comment": table.column("comment"),
        }
    )
    checks = run_checks(contract, later)
    assert all(c.passed for c in checks), [c.message for c in checks if not c.passed]


def test_rows_and_exact_bounds_on_request() -> None:
    table = pa.table({"x": [1.5, 2.5, 3.5, 4.0], "n": pa.array([2, 3, 5, 9])})
    data = infer_contract(table, rows=True, exact_bounds=True)
    assert data["table"]["rows"] == {"min": 2, "max": 8}
    assert (data["columns"]["x"]["min"], data["columns"]["x"]["max"]) == (1.5, 4.0)
    assert (data["columns"]["n"]["min"], data["columns"]["n"]["max"]) == (2, 9)


def test_unknown_target_is_refused() -> None:
    with pytest.raises(InputError, match="no target column 'label'"):
        infer_contract(pa.table({"a": [1, 2]}), target="label")


@pytest.mark.parametrize(
    ("low", "high", "scale", "integral", "expected"),
    [
        # far from zero: about one range on each side
        (290.0, 310.0, 10.0, False, (271.0, 332.0)),
        # non-negative stays non-negative; the long tail gains an order of magnitude
        (0.5, 400.0, 20.0, False, (0.0, 15700.0)),
        # negative values and none above zero: the highest bound stays at zero
        (-400.0, -0.5, 20.0, False, (-15700.0, 0.0)),
        # both signs: both sides widen
        (-3.0, 3.0, 1.35, False, (-68.3, 68.3)),
        # integral data gets whole bounds
        (18.0, 95.0, 16.0, True, (0.0, 435.0)),
    ],
)
def test_widen(
    low: float,
    high: float,
    scale: float,
    integral: bool,
    expected: tuple[float, float],
) -> None:
    lower, upper = widen(low, high, scale, integral=integral)
    assert (lower, upper) == pytest.approx(expected, rel=0.001)
    assert lower is not None and upper is not None
    assert lower <= low and upper >= high
    if integral:
        assert lower == int(lower) and upper == int(upper)


def test_widen_overflow_drops_the_bound() -> None:
    assert widen(1.0, 1e300, 1.0, integral=False) == (0.0, None)


def test_write_contract_header_and_atomicity(tmp_path: Path) -> None:
    path = write_contract(
        {"version": 1, "columns": {"a": {}}},
        tmp_path / "sub" / "c.yaml",
        header="Inferred from data/train.parquet\n\n# Review before use",
    )
    text = path.read_text()
    assert text.startswith("# Inferred from data/train.parquet\n#\n# Review before use\n")
    assert yaml.safe_load(text) == {"version": 1, "columns": {"a": {}}}
    assert [p.name for p in path.parent.iterdir()] == ["c.yaml"]  # no temp file left
    default = write_contract({"version": 1, "columns": {"a": {}}}, tmp_path / "d.yaml")
    assert "Review every rule" in default.read_text()


def test_inferred_text_values_that_look_like_other_types_stay_text(tmp_path: Path) -> None:
    table = pa.table({"c": ["yes", "no", "2024-01-01", "1e3", "null"] * 5})
    _, path = roundtrip(table, tmp_path)
    contract = load_contract(path)
    assert contract.columns["c"].allowed == ("1e3", "2024-01-01", "no", "null", "yes")
    assert all(c.passed for c in run_checks(contract, table))


@pytest.mark.parametrize("rows", [0, 1])
def test_tiny_tables(rows: int, tmp_path: Path) -> None:
    table = pa.table({"a": pa.array([5] * rows, pa.int64())})
    _, path = roundtrip(table, tmp_path)
    assert all(c.passed for c in run_checks(load_contract(path), table))


def test_infinities_and_type_limits_leave_a_side_unbounded() -> None:
    table = pa.table(
        {
            "up": [1.0, float("inf"), 2.0, 3.0],
            "down": [float("-inf"), 1.0, 2.0, 3.0],
            "u64": pa.array([1, 2, 3, 2**64 - 1], pa.uint64()),
            "i8": pa.array([1, 2, 3, 100], pa.int8()),
            "negative": pa.array([-5, -3, -1, -2]),
        }
    )
    columns = infer_contract(table)["columns"]
    assert "max" not in columns["up"] and columns["up"]["min"] < 1.0
    assert "min" not in columns["down"] and columns["down"]["max"] > 3.0
    assert (columns["u64"]["min"], "max" in columns["u64"]) == (0, False)
    assert (columns["i8"]["min"], "max" in columns["i8"]) == (0, False)  # past int8's 127
    assert columns["negative"]["max"] == 0 and columns["negative"]["min"] < -5
    contract = parse_contract(infer_contract(table), "c.yaml")
    assert all(c.passed for c in run_checks(contract, table))
