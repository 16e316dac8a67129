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
from modelci.contract.infer import infer_contract, write_contract
from modelci.contract.model import contract_schema, load_contract


def roundtrip(table: pa.Table, tmp_path: Path, **kwargs: Any) -> tuple[dict[str, Any], Path]:
    data = infer_contract(table, **kwargs)
    jsonschema.validate(data, contract_schema())
    path = write_contract(data, tmp_path / "contract.yaml", header="inferred from test data")
    return data, path


def test_breast_cancer_contract_passes_on_its_own_data(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    table = pa.Table.from_pandas(frame, preserve_index=False)
    _, path = roundtrip(table, tmp_path)
    contract = load_contract(path)
    assert list(contract.columns) == list(frame.columns)
    radius = contract.columns["mean radius"]
    assert radius.dtype == "float"
    assert radius.nullable is False
    assert radius.min == float(frame["mean radius"].min())
    assert radius.max == float(frame["mean radius"].max())
    assert radius.unique is False  # all-distinct floats are chance, not a rule
    assert contract.columns["target"].dtype == "integer"
    assert (contract.table.rows_min, contract.table.rows_max) == (569 // 2, 569 * 2)
    assert contract.table.unexpected_columns == "fail"
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
    assert columns["id"] == {
        "dtype": "integer",
        "nullable": False,
        "min": 10,
        "max": 15,
        "unique": True,
    }
    assert columns["code"]["unique"] is True
    assert "allowed" in columns["code"]  # 6 distinct <= 20
    assert columns["sex"] == {"dtype": "string", "max_null_share": 0.17, "allowed": ["F", "M"]}
    # a null and a NaN out of 6 rows: 0.333.. rounded up
    assert columns["score"]["max_null_share"] == 0.34
    assert (columns["score"]["min"], columns["score"]["max"]) == (-1.0, 2.25)
    assert columns["ok"] == {"dtype": "boolean", "max_null_share": 0.17}
    assert columns["seen"]["min"] == "2024-01-01T12:30:15.123456"
    assert columns["tier"]["dtype"] == "category"
    assert columns["tier"]["allowed"] == ["bronze", "gold", "silver"]
    assert columns["empty"] == {}
    assert "unique" not in columns["big"]
    assert data["table"]["no_duplicate_rows"] is True
    contract = load_contract(path)
    checks = run_checks(contract, table)
    assert all(c.passed for c in checks), [c.message for c in checks if not c.passed]


def test_max_categories_limits_allowed(tmp_path: Path) -> None:
    data = infer_contract(mixed_table(), max_categories=3)
    assert "allowed" not in data["columns"]["code"]
    assert data["columns"]["tier"]["allowed"] == ["bronze", "gold", "silver"]


def test_duplicate_rows_are_not_promised() -> None:
    data = infer_contract(pa.table({"a": [1, 1], "b": ["x", "x"]}))
    assert "no_duplicate_rows" not in data["table"]
    assert "unique" not in data["columns"]["a"]


def test_inferred_contract_catches_new_bad_data(tmp_path: Path) -> None:
    _, path = roundtrip(mixed_table(), tmp_path)
    contract = load_contract(path)
    worse = mixed_table().set_column(0, "id", pa.array([10, 10, 12, 13, 14, 99], pa.int32()))
    failed = {c.name for c in run_checks(contract, worse) if not c.passed}
    assert failed == {"id: max", "id: unique"}


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
    table = pa.table({"c": ["yes", "no", "2024-01-01", "1e3", "null"]})
    _, path = roundtrip(table, tmp_path)
    contract = load_contract(path)
    assert contract.columns["c"].allowed == ("1e3", "2024-01-01", "no", "null", "yes")
    assert all(c.passed for c in run_checks(contract, table))


@pytest.mark.parametrize("rows", [0, 1])
def test_tiny_tables(rows: int, tmp_path: Path) -> None:
    table = pa.table({"a": pa.array([5] * rows, pa.int64())})
    _, path = roundtrip(table, tmp_path)
    assert all(c.passed for c in run_checks(load_contract(path), table))
