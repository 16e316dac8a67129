"""Wide tables cost linear work in their columns: counted in operations, never in seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from modelci.contract.checks import run_checks
from modelci.contract.infer import infer_contract
from modelci.contract.model import parse_contract
from modelci.data import read_dataset
from modelci.drift import build_profile, detect_drift


class CountingTable:
    """A pyarrow Table that counts the whole-schema name lists and name lookups asked of it."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self.name_lists = 0
        self.name_lookups = 0

    @property
    def column_names(self) -> list[str]:
        self.name_lists += 1
        return list(self._table.column_names)

    def column(self, key: int | str) -> pa.ChunkedArray:
        if isinstance(key, str):
            self.name_lookups += 1
        return self._table.column(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def wide(columns: int, rows: int = 50) -> pa.Table:
    rng = np.random.default_rng(columns)
    return pa.table({f"c{i}": rng.normal(10, 2, rows) for i in range(columns)})


def counts(columns: int) -> tuple[int, int, int, int, int, int]:
    table = wide(columns)
    contract = parse_contract(infer_contract(table), "c.yaml")
    checked = CountingTable(table)
    assert all(c.passed for c in run_checks(contract, checked))  # type: ignore[arg-type]
    profiled = CountingTable(table)
    profile = build_profile(profiled)
    compared = CountingTable(table)
    detect_drift(profile, compared, {})
    return (
        checked.name_lists, checked.name_lookups,
        profiled.name_lists, profiled.name_lookups,
        compared.name_lists, compared.name_lookups,
    )  # fmt: skip


def test_schema_scans_do_not_grow_with_the_columns() -> None:
    # a name lookup per column that scans every name is quadratic: none may happen
    few, many = counts(20), counts(400)
    assert few == many
    assert max(many) <= 3


def test_a_wide_csv_is_read_in_few_chunks(tmp_path: Path) -> None:
    # each parse block becomes one chunk per column, and later work pays per chunk
    chunks = []
    for columns in (200, 3_000):
        frame = wide(columns, rows=400).to_pandas().round(3)
        path = tmp_path / f"w{columns}.csv"
        frame.to_csv(path, index=False)
        table = read_dataset(path).table
        assert table.num_columns == columns
        chunks.append(table.column(0).num_chunks)
    assert chunks == [1, 1]


@pytest.mark.parametrize("columns", [20, 400])
def test_the_inferred_contract_of_a_wide_table_passes(columns: int) -> None:
    table = wide(columns)
    contract = parse_contract(infer_contract(table), "c.yaml")
    assert all(c.passed for c in run_checks(contract, table))
