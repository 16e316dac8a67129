"""An empty CSV cell is missing in every column, in validate-data and in train alike."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from modelci import config as config_mod
from modelci.data import read_dataset
from modelci.data.csvfile import DEFAULT_NULL_VALUES
from tests.conftest import CliRunner

CSV = 'id,colour,size,y\n1,red,1.5,a\n2,,2.5,b\n3,"",3.5,a\n4,NA,,b\n5,blue,4.5,a\n6,red,5.5,b\n'


def write(folder: Path, text: str = CSV) -> Path:
    path = folder / "d.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_empty_and_marked_cells_are_null_in_text_columns(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path))
    assert data.table.column("colour").to_pylist() == ["red", None, None, None, "blue", "red"]
    assert data.table.column("size").to_pylist()[3] is None
    only_empty = read_dataset(write(tmp_path), null_values=[""])
    assert only_empty.table.column("colour").to_pylist()[1:4] == [None, None, "NA"]
    nothing = read_dataset(write(tmp_path), null_values=[])
    assert nothing.table.column("colour").to_pylist()[1:4] == ["", "", "NA"]
    # the raw text read keeps every value as written
    raw = read_dataset(write(tmp_path), infer_types=False)
    assert raw.table.column("colour").to_pylist()[1:4] == ["", "", "NA"]


def test_the_default_list_is_the_packaged_default() -> None:
    assert tuple(config_mod.defaults()["data"]["csv"]["null_values"]) == DEFAULT_NULL_VALUES


def _project(folder: Path, extra: str = "") -> None:
    write(folder)
    (folder / "contract.yaml").write_text(
        "version: 1\ncolumns:\n  id: {dtype: integer}\n  colour: {dtype: string, nullable: false}\n"
        "  size: {dtype: float}\n  y: {dtype: string}\n"
    )
    (folder / "modelci.yaml").write_text(
        f"version: 1\ndata:\n  path: d.csv\n  target: y\n{extra}contract: contract.yaml\n"
    )


def _nullable_check(folder: Path) -> dict[str, Any]:
    report = json.loads((folder / ".modelci/validate-data/report.json").read_text())
    (check,) = [c for c in report["checks"] if c["rule"] == "nullable"]
    return dict(check)


def test_validate_data_sees_empty_text_as_missing(in_tmp: Path, run_cli: CliRunner) -> None:
    _project(in_tmp)
    res = run_cli("validate-data")
    assert res.code == 1
    assert "colour: nullable" in res.err
    check = _nullable_check(in_tmp)
    assert (check["column"], check["observed"]["nulls"]) == ("colour", 3)
    assert check["line"] == 3  # the first empty cell: row 2, after the header


def test_validate_data_follows_the_null_values_setting(in_tmp: Path, run_cli: CliRunner) -> None:
    _project(in_tmp, '  csv:\n    null_values: [""]\n')
    assert run_cli("validate-data").code == 1
    assert _nullable_check(in_tmp)["observed"]["nulls"] == 2  # "NA" is text now


def _prepared(folder: Path) -> Any:
    from modelci.training.data import prepare

    cfg = config_mod.load(folder / "modelci.yaml", env={})
    return prepare(cfg, None)


def test_train_reads_empty_text_as_missing(in_tmp: Path) -> None:
    _project(in_tmp)
    prepared = _prepared(in_tmp)
    colour = prepared.frame["colour"].tolist()
    assert colour[0] == "red"
    assert all(v is None or (isinstance(v, float) and math.isnan(v)) for v in colour[1:4])
    assert "" not in colour  # a model must not learn a class ''


def test_train_follows_the_null_values_setting(in_tmp: Path) -> None:
    _project(in_tmp, '  csv:\n    null_values: [""]\n')
    assert _prepared(in_tmp).frame["colour"].tolist()[3] == "NA"


@pytest.mark.parametrize("value", ['["", "NA"]', "[]"])
def test_the_setting_comes_from_the_environment_too(in_tmp: Path, value: str) -> None:
    cfg = config_mod.load(env={"MODELCI_DATA__CSV__NULL_VALUES": value}, search=False)
    assert isinstance(cfg.get("data.csv.null_values"), list)
