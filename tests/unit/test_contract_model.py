"""Parsing and validating contract files: what is accepted, and how a bad one is refused."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from modelci.contract.model import (
    ColumnSpec,
    column_kinds,
    contract_schema,
    key_path,
    load_contract,
)
from modelci.errors import DataError, InputError

GOOD = """\
version: 1
description: patients
columns:
  id: {dtype: integer, nullable: false, unique: true}
  age:
    dtype: integer
    nullable: false
    min: 0
    max: 120
  sex: {dtype: string, allowed: [M, F]}
  country: {dtype: category, allowed: [NO, SE, DK]}
  email: {dtype: string, regex: '^[^@]+@[^@]+$', unique: true}
  weight: {dtype: float, max_null_share: 0.05}
  seen: {dtype: datetime, min: 2020-01-01, max: '2030-12-31T23:59:59'}
  note: {dtype: string, required: false}
  flag:
table:
  rows: {min: 100, max: 10000000}
  primary_key: [id]
  no_duplicate_rows: true
  required_columns: [id, age]
  unexpected_columns: warn
"""


def write(tmp_path: Path, text: str, name: str = "contract.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        load_contract(path)
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return message


def test_a_full_contract_loads_into_frozen_specs(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, GOOD))
    assert contract.path == tmp_path / "contract.yaml"
    assert contract.version == 1
    assert list(contract.columns) == [
        "id", "age", "sex", "country", "email", "weight", "seen", "note", "flag"
    ]  # fmt: skip
    age = contract.columns["age"]
    assert (age.dtype, age.nullable, age.min, age.max, age.required) == (
        "integer",
        False,
        0,
        120,
        True,
    )
    # YAML 1.1 would read NO as False and 2020-01-01 as a date; a contract keeps the text
    assert contract.columns["country"].allowed == ("NO", "SE", "DK")
    assert contract.columns["seen"].min == "2020-01-01"
    assert contract.columns["email"].regex == "^[^@]+@[^@]+$"
    assert contract.columns["email"].unique is True
    assert contract.columns["weight"].max_null_share == 0.05
    assert contract.columns["note"].required is False
    assert contract.columns["flag"] == ColumnSpec(name="flag")
    table = contract.table
    assert (table.rows_min, table.rows_max) == (100, 10_000_000)
    assert table.primary_key == ("id",)
    assert table.required_columns == ("id", "age")
    assert table.no_duplicate_rows is True
    assert table.unexpected_columns == "warn"
    with pytest.raises(AttributeError):
        age.min = 5  # type: ignore[misc]


def test_defaults_when_table_is_absent(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, "version: 1\ncolumns:\n  a: {dtype: float}\n"))
    assert contract.table.unexpected_columns == "fail"
    assert contract.table.primary_key == ()
    assert contract.columns["a"].nullable is True
    assert contract.columns["a"].max_null_share is None


def test_column_kinds_for_drift(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, GOOD))
    assert column_kinds(contract) == {
        "id": "numeric",
        "age": "numeric",
        "sex": "categorical",
        "country": "categorical",
        "email": "categorical",
        "weight": "numeric",
        "note": "categorical",
    }


def test_schema_is_a_valid_json_schema_that_accepts_the_example(tmp_path: Path) -> None:
    schema = contract_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    import yaml

    data = yaml.safe_load(GOOD.replace("2020-01-01", "'2020-01-01'"))
    jsonschema.validate(data, schema)
    # a fresh copy each call: callers may change it
    schema["title"] = "changed"
    assert contract_schema()["title"] != "changed"
    json.dumps(contract_schema())


def test_key_path_quotes_names_that_are_not_identifiers() -> None:
    assert key_path(("columns", "age", "min")) == "columns.age.min"
    assert key_path(("table", "primary_key", 1)) == "table.primary_key[1]"
    assert key_path(("columns", "unit price", "max")) == 'columns["unit price"].max'


# --- refused contracts: each names the file, the line and the key path -------------------------


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n  age: {dtype: integer\n  sex: x\n")
    assert "contract.yaml:4: not valid YAML" in message


def test_yaml_1_2_numbers_and_booleans(tmp_path: Path) -> None:
    text = "version: 1\ncolumns:\n  a: {min: 1e3, max: 2.5E+4}\n  b: {allowed: [yes, no, true]}\n"
    contract = load_contract(write(tmp_path, text))
    assert (contract.columns["a"].min, contract.columns["a"].max) == (1000.0, 25000.0)
    assert contract.columns["b"].allowed == ("yes", "no", True)


@pytest.mark.parametrize("key", ["null", "~", "Null", "NULL"])
def test_a_null_column_key_is_refused_at_its_line(tmp_path: Path, key: str) -> None:
    text = f"version: 1\ncolumns:\n  a: {{dtype: integer}}\n  {key}: {{dtype: string}}\n"
    message = refused(tmp_path, text)
    assert "contract.yaml:4: columns: a column without a name" in message


def test_a_column_named_null_when_quoted(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, "version: 1\ncolumns:\n  'null': {}\n"))
    assert list(contract.columns) == ["null"]


def test_column_keys_keep_the_name_as_written(tmp_path: Path) -> None:
    # YAML reads these keys as a boolean, numbers and a date; the data's columns are named
    # by the text, so that is the column name.
    text = "version: 1\ncolumns:\n  true: {}\n  1.50: {}\n  1e3: {}\n  2024-01-01: {}\n  7: {}\n"
    contract = load_contract(write(tmp_path, text))
    assert list(contract.columns) == ["true", "1.50", "1e3", "2024-01-01", "7"]


def test_a_column_given_as_a_list(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n  a: [1]\n")
    assert "contract.yaml:3: columns.a: expected a mapping or nothing, got a list" in message


def test_tab_indentation_is_bad_yaml(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n\tage: {}\n")
    assert "contract.yaml:3: not valid YAML" in message


def test_unknown_key_names_path_and_allowed_keys(tmp_path: Path) -> None:
    text = "version: 1\ncolumns:\n  age:\n    dtype: integer\n    maximum: 3\n"
    message = refused(tmp_path, text)
    assert "contract.yaml:5: columns.age.maximum: unknown key 'maximum'" in message
    assert "allowed keys: allowed, description, drift, dtype, max, max_null_share, min" in message


def test_unknown_top_level_and_table_keys(tmp_path: Path) -> None:
    assert "(top level)" not in refused(tmp_path, "version: 1\ncolumns: {a: {}}\ncolums: {}\n")
    message = refused(tmp_path, "version: 1\ncolumns: {a: {}}\ntable: {primary_keys: [a]}\n")
    assert "contract.yaml:3: table.primary_keys: unknown key 'primary_keys'" in message
    assert "primary_key" in message


def test_bad_dtype_lists_the_choices(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n  age: {dtype: int}\n")
    assert "contract.yaml:3: columns.age.dtype: 'int' is not one of: integer, float" in message


def test_min_greater_than_max(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n  age:\n    min: 10\n    max: 5\n")
    assert "contract.yaml:4: columns.age.min: min 10 is greater than max 5" in message


def test_rows_min_greater_than_max(tmp_path: Path) -> None:
    text = "version: 1\ncolumns: {a: {}}\ntable:\n  rows: {min: 10, max: 5}\n"
    assert "table.rows.min: min 10 is greater than max 5" in refused(tmp_path, text)


def test_regex_that_does_not_compile_names_the_column(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n  email: {dtype: string, regex: '[a-'}\n")
    assert "contract.yaml:3: columns.email.regex: column 'email': regex does not compile" in message


def test_primary_key_naming_an_undeclared_column(tmp_path: Path) -> None:
    text = "version: 1\ncolumns:\n  id: {}\n  day: {}\ntable:\n  primary_key: [id, idd]\n"
    message = refused(tmp_path, text)
    assert (
        "contract.yaml:6: table.primary_key[1]: column 'idd' is not declared under columns"
        in message
    )


def test_required_columns_naming_an_undeclared_column(tmp_path: Path) -> None:
    text = "version: 1\ncolumns: {id: {}}\ntable:\n  required_columns:\n    - id\n    - extra\n"
    message = refused(tmp_path, text)
    assert "contract.yaml:6: table.required_columns[1]: column 'extra' is not declared" in message


def test_undeclared_table_columns_are_fine_when_unexpected_columns_are_allowed(
    tmp_path: Path,
) -> None:
    text = (
        "version: 1\ncolumns: {id: {}}\ntable:\n  primary_key: [id, day]\n"
        "  required_columns: [extra]\n  unexpected_columns: allow\n"
    )
    contract = load_contract(write(tmp_path, text))
    assert contract.table.primary_key == ("id", "day")
    assert contract.table.required_columns == ("extra",)


def test_empty_file(tmp_path: Path) -> None:
    message = refused(tmp_path, "# nothing yet\n")
    assert "the contract is empty" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    message = refused(tmp_path, "- version\n- columns\n")
    assert "contract.yaml:1: the contract must be a mapping" in message
    assert "found a list" in message


def test_wrong_version(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 2\ncolumns: {a: {}}\n")
    assert "contract.yaml:1: version: contract version 2 is not supported" in message


def test_missing_version_and_columns(tmp_path: Path) -> None:
    assert "missing required key 'version'" in refused(tmp_path, "columns: {a: {}}\n")
    assert "missing required key 'columns'" in refused(tmp_path, "version: 1\n")


def test_allowed_must_be_a_list(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n  sex: {dtype: string, allowed: M}\n")
    assert "columns.sex.allowed: expected a list, got a string ('M')" in message


def test_allowed_values_must_fit_the_dtype(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n  code: {dtype: string, allowed: [a, 7]}\n")
    assert "columns.code.allowed[1]: 7 is not a valid string (quote it" in message
    text = "version: 1\ncolumns:\n  n: {dtype: integer, allowed: [1, true]}\n"
    assert "columns.n.allowed[1]: True is not a valid integer" in refused(tmp_path, text)


def test_nullable_false_contradicts_max_null_share(tmp_path: Path) -> None:
    text = "version: 1\ncolumns:\n  a: {nullable: false, max_null_share: 0.1}\n"
    assert "columns.a.max_null_share: contradicts nullable: false" in refused(tmp_path, text)


def test_max_null_share_out_of_range(tmp_path: Path) -> None:
    text = "version: 1\ncolumns:\n  a: {max_null_share: 1.5}\n"
    assert "columns.a.max_null_share: 1.5 must be <= 1" in refused(tmp_path, text)


def test_bounds_must_suit_the_dtype(tmp_path: Path) -> None:
    text = "version: 1\ncolumns:\n  s: {dtype: string, min: 3}\n"
    assert "columns.s.min: min applies to integer, float, number or datetime" in refused(
        tmp_path, text
    )
    text = "version: 1\ncolumns:\n  d: {dtype: datetime, min: 2020-13-01}\n"
    assert "columns.d.min: '2020-13-01' is not an ISO date" in refused(tmp_path, text)
    text = "version: 1\ncolumns:\n  n: {dtype: float, max: high}\n"
    assert "columns.n.max: 'high' is text; max must be a number" in refused(tmp_path, text)


def test_regex_on_a_number_column(tmp_path: Path) -> None:
    text = "version: 1\ncolumns:\n  n: {dtype: integer, regex: '[0-9]+'}\n"
    assert "columns.n.regex: regex applies to string or category columns" in refused(tmp_path, text)


def test_unexpected_columns_policy_is_checked(tmp_path: Path) -> None:
    text = "version: 1\ncolumns: {a: {}}\ntable: {unexpected_columns: ignore}\n"
    assert "table.unexpected_columns: 'ignore' is not one of: fail, warn, allow" in refused(
        tmp_path, text
    )


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="contract file not found"):
        load_contract(tmp_path / "nope.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: 1\ncolumns: {caf\xe9: {}}\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_contract(path)
    assert issubclass(DataError, InputError)


ROLES = """\
version: 1
columns:
  id: {dtype: integer, role: id}
  key: {dtype: string, role: id, drift: true}
  note: {dtype: string, drift: false}
  age: {dtype: integer}
  label: {dtype: string, role: target}
"""


def test_roles_and_drift_flags(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, ROLES))
    columns = contract.columns
    assert (columns["id"].role, columns["id"].drift) == ("id", False)
    assert (columns["key"].role, columns["key"].drift) == ("id", True)
    assert (columns["note"].role, columns["note"].drift) == ("feature", False)
    assert (columns["age"].role, columns["age"].drift) == ("feature", True)
    assert contract.target == "label"
    assert contract.drift_skipped() == {
        "id": "role: id in the contract",
        "note": "drift: false in the contract",
    }
    # identifiers are neither drift-compared nor trained on
    assert column_kinds(contract) == {
        "note": "categorical",
        "age": "numeric",
        "label": "categorical",
    }
    assert load_contract(write(tmp_path, GOOD)).target is None


def test_one_target_only(tmp_path: Path) -> None:
    text = ROLES + "  other: {dtype: integer, role: target}\n"
    message = refused(tmp_path, text)
    assert "contract.yaml:8: columns.other.role: a second target column" in message
    assert "'label'" in message


def test_unknown_role(tmp_path: Path) -> None:
    message = refused(tmp_path, "version: 1\ncolumns:\n  a: {role: key}\n")
    assert "columns.a.role: 'key' is not one of: id, feature, target" in message
