"""The data contract: parse the YAML, validate it, and hold it as frozen dataclasses.

A contract that cannot be trusted is refused before any data is read, with one line naming
the contract file, the line, the key path and what to fix (``DataError``, exit 2).
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from modelci import fsutil, yamlutil
from modelci.errors import DataError, first_line
from modelci.yamlutil import UniqueKeyLoader, shown

CONTRACT_VERSION = 1
DTYPES = ("integer", "float", "number", "string", "boolean", "datetime", "category")
NUMERIC_DTYPES = frozenset({"integer", "float", "number"})
UnexpectedPolicy = Literal["fail", "warn", "allow"]
#: what a column is to a model: an identifier of rows, an input, or the label
Role = Literal["id", "feature", "target"]
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class ColumnSpec:
    """The rules for one column. ``None`` means the rule is not set."""

    name: str
    dtype: str | None = None
    required: bool = True
    nullable: bool = True
    max_null_share: float | None = None
    #: numbers, or ISO timestamps (kept as text) for datetime columns
    min: int | float | str | None = None
    max: int | float | str | None = None
    allowed: tuple[Any, ...] | None = None
    regex: str | None = None
    unique: bool = False
    description: str = ""
    role: Role = "feature"
    #: compared with the reference for drift; ``role: id`` turns it off unless set
    drift: bool = True


@dataclass(frozen=True)
class TableSpec:
    rows_min: int | None = None
    rows_max: int | None = None
    primary_key: tuple[str, ...] = ()
    no_duplicate_rows: bool = False
    required_columns: tuple[str, ...] = ()
    unexpected_columns: UnexpectedPolicy = "fail"


@dataclass(frozen=True)
class Contract:
    columns: dict[str, ColumnSpec]
    table: TableSpec
    path: Path
    version: int = CONTRACT_VERSION
    description: str = field(default="", compare=False)

    @property
    def target(self) -> str | None:
        """The column with ``role: target`` (the label), if the contract names one."""
        return next((n for n, spec in self.columns.items() if spec.role == "target"), None)

    def drift_skipped(self) -> dict[str, str]:
        """Columns drift detection leaves out, with the reason a report shows."""
        return {
            name: f"{'role: id' if spec.role == 'id' else 'drift: false'} in the contract"
            for name, spec in self.columns.items()
            if not spec.drift
        }


@cache
def _schema_text() -> str:
    return resources.files("modelci").joinpath("schemas/contract.schema.json").read_text("utf-8")


def contract_schema() -> dict[str, Any]:
    """The JSON Schema of a contract file (a fresh copy the caller may change)."""
    data: dict[str, Any] = json.loads(_schema_text())
    return data


def column_kinds(contract: Contract) -> dict[str, Literal["numeric", "categorical"]]:
    """How drift detection and training treat each declared column.

    Datetime and untyped columns are left out, and so are identifiers (``role: id``): they
    name rows, they are not a signal to learn from or to compare distributions of.
    """
    kinds: dict[str, Literal["numeric", "categorical"]] = {}
    for name, spec in contract.columns.items():
        if spec.role == "id":
            continue
        if spec.dtype in NUMERIC_DTYPES:
            kinds[name] = "numeric"
        elif spec.dtype in ("string", "boolean", "category"):
            kinds[name] = "categorical"
    return kinds


# --- YAML -------------------------------------------------------------------------------


class _ContractLoader(UniqueKeyLoader):
    """YAML 1.2-like scalars: ``yes``/``no``/``on``/``off`` and dates stay strings.

    PyYAML follows YAML 1.1, where ``allowed: [NO, SE]`` would turn Norway into ``False``
    and ``2024-01-01`` into a date object; in a contract both must stay the text written.
    """


_ContractLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2 reads 1e3 as a number; PyYAML's 1.1 rules need a dot (1.0e3) and give text.
_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
for _first in "+-0123456789":
    _ContractLoader.yaml_implicit_resolvers.setdefault(_first, []).append(
        ("tag:yaml.org,2002:float", _FLOAT)
    )
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
for _first in "tTfF":
    _ContractLoader.yaml_implicit_resolvers.setdefault(_first, []).append(
        ("tag:yaml.org,2002:bool", _BOOL)
    )


class ContractDumper(yaml.SafeDumper):
    """Quotes any text the contract loader (or plain YAML 1.1) would read as something else."""


ContractDumper.yaml_implicit_resolvers = {
    first: list(resolvers) for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
}
for _first in "+-0123456789":
    ContractDumper.yaml_implicit_resolvers.setdefault(_first, []).append(
        ("tag:yaml.org,2002:float", _FLOAT)
    )


def _parse_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = fsutil.read_regular_text(path)
    except FileNotFoundError:
        raise DataError(path, "contract file not found; check the contract path") from None
    except fsutil.NotRegularFile as exc:
        raise DataError(
            path, f"is a {exc.kind}, not a contract file; point at the contract YAML file"
        ) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            path, f"contract is not UTF-8 text ({exc.reason}); save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise DataError(
            path,
            f"cannot read the contract ({exc.strerror or exc}); point at the contract YAML file",
        ) from None
    try:
        # one parse gives both the data and the nodes whose marks name lines in errors
        return yamlutil.load(_ContractLoader, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        raise DataError(path, f"not valid YAML: {what}", line=line) from None
    except yaml.YAMLError as exc:
        raise DataError(path, f"not valid YAML: {first_line(exc, 200)}") from None


def _line_of(node: yaml.Node | None, where: Path_) -> int | None:
    """Line (1-based) of the deepest node on ``where`` that exists in the document."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in where:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line = key.start_mark.line + 1
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def key_path(where: Path_) -> str:
    """``columns.age.min``, ``table.primary_key[1]``, ``columns["unit price"].max``."""
    out = ""
    for part in where:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


class _Refuse:
    """Raises the one-line DataError for a key path of the contract being loaded."""

    def __init__(self, path: Path, node: yaml.Node | None) -> None:
        self.path = path
        self.node = node

    def __call__(self, where: Path_, message: str) -> DataError:
        line = _line_of(self.node, where)
        return DataError(self.path, f"{key_path(where)}: {message}", line=line)


# --- schema validation --------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_JSON_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
    "string": "text",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
}


def _schema_message(error: Any) -> tuple[Path_, str]:
    """A plain-words message for one jsonschema error, and the key path it concerns."""
    where: Path_ = tuple(error.absolute_path)
    validator = error.validator
    schema = error.schema
    value = error.instance
    if validator == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(k for k in value if k not in allowed)
        key = extra[0] if extra else "?"
        return (*where, key), f"unknown key {key!r}; allowed keys: {', '.join(allowed)}"
    if validator == "required":
        missing = [k for k in error.validator_value if k not in (value or {})]
        return where, f"missing required key {missing[0]!r}"
    if validator == "const" and where == ("version",):
        return where, (
            f"contract version {shown(value)} is not supported; this modelci reads "
            f"'version: {CONTRACT_VERSION}'"
        )
    if validator == "enum":
        options = ", ".join(str(v) for v in error.validator_value)
        return where, f"{shown(value)} is not one of: {options}"
    if validator == "type":
        raw = error.validator_value
        kinds: list[str] = [str(k) for k in raw] if isinstance(raw, list) else [str(raw)]
        wanted = " or ".join(_JSON_TYPES.get(k, k) for k in kinds)
        return where, f"expected {wanted}, got {_type_name(value)} ({shown(value)})"
    if validator in ("minimum", "exclusiveMinimum"):
        return where, f"{shown(value)} must be >= {error.validator_value}"
    if validator == "maximum":
        return where, f"{shown(value)} must be <= {error.validator_value}"
    if validator == "minItems":
        return where, f"needs at least {error.validator_value} item(s)"
    if validator == "uniqueItems":
        return where, "lists the same value twice"
    if validator == "minProperties":
        return where, f"needs at least {error.validator_value} entry"
    if validator == "minLength":
        return where, "must not be empty"
    return where, first_line(error, 200)


def _validate_schema(data: Any, refuse: _Refuse) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(contract_schema())
    errors = list(validator.iter_errors(data))
    if not errors:
        return
    found = [_schema_message(e) for e in errors]
    found.sort(key=lambda item: (_line_of(refuse.node, item[0]) or 0, len(item[0])))
    where, message = found[0]
    raise refuse(where, message)


# --- semantic validation ------------------------------------------------------------------

_ALLOWED_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "float": (int, float),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "category": (str, int, float, bool),
}


def _bound(
    spec: dict[str, Any], key: str, dtype: str | None, where: Path_, refuse: _Refuse
) -> int | float | str | None:
    value = spec.get(key)
    if value is None:
        return None
    if dtype is not None and dtype not in NUMERIC_DTYPES and dtype != "datetime":
        raise refuse(
            (*where, key), f"{key} applies to integer, float, number or datetime, not {dtype}"
        )
    if isinstance(value, str):
        if dtype != "datetime":
            raise refuse(
                (*where, key),
                f"{value!r} is text; {key} must be a number (a date bound needs dtype: datetime)",
            )
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise refuse(
                (*where, key), f"{value!r} is not an ISO date or timestamp (e.g. 2024-01-31T08:00)"
            ) from None
        return value
    if dtype == "datetime":
        raise refuse(
            (*where, key), f"a datetime bound must be an ISO date text, got {shown(value)}"
        )
    if isinstance(value, float) and math.isnan(value):
        raise refuse((*where, key), f"{key} must be a number, not NaN")
    _in_range(value, (*where, key), refuse)
    if dtype == "integer" and isinstance(value, float) and not value.is_integer():
        # A fractional bound on integers is legal but usually a typo; keep it, it compares fine.
        return value
    number: int | float = value
    return number


def _in_range(value: Any, where: Path_, refuse: _Refuse) -> None:
    """Numbers past what a float holds (10**400) would overflow wherever they are compared."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        digits = len(str(abs(value)))
        raise refuse(
            where,
            f"a {digits}-digit number is out of range: use a number within ±1.8e308 "
            "(or leave the bound out)",
        )


def _order_key(value: int | float | str) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _column(name: str, raw: dict[str, Any] | None, refuse: _Refuse) -> ColumnSpec:
    spec = raw or {}
    where: Path_ = ("columns", name)
    dtype: str | None = spec.get("dtype")
    low = _bound(spec, "min", dtype, where, refuse)
    high = _bound(spec, "max", dtype, where, refuse)
    if low is not None and high is not None:
        try:
            inverted = _order_key(low) > _order_key(high)
        except TypeError:  # naive vs aware timestamps
            message = "min and max mix timestamps with and without a timezone"
            raise refuse((*where, "max"), message) from None
        if inverted:
            raise refuse((*where, "min"), f"min {low!r} is greater than max {high!r}")

    nullable = spec.get("nullable", True)
    share = spec.get("max_null_share")
    if share is not None and not nullable:
        raise refuse(
            (*where, "max_null_share"),
            "contradicts nullable: false; keep one (nullable: false means no nulls at all)",
        )

    allowed = spec.get("allowed")
    if allowed is not None:
        kinds = _ALLOWED_TYPES.get(dtype or "", (str, int, float, bool))
        if dtype == "datetime":
            message = "allowed is not supported for datetime columns; use min/max"
            raise refuse((*where, "allowed"), message)
        for i, item in enumerate(allowed):
            bad_bool = isinstance(item, bool) and bool not in kinds
            if bad_bool or not isinstance(item, kinds):
                hint = " (quote it to make it text)" if dtype in ("string", "category") else ""
                raise refuse(
                    (*where, "allowed", i),
                    f"{shown(item)} is not a valid {dtype or 'value'}{hint}",
                )
            _in_range(item, (*where, "allowed", i), refuse)

    regex = spec.get("regex")
    if regex is not None:
        if dtype is not None and dtype not in ("string", "category"):
            message = f"regex applies to string or category columns, not {dtype}"
            raise refuse((*where, "regex"), message)
        try:
            re.compile(regex)
        except re.error as exc:
            message = f"column {name!r}: regex does not compile: {exc}"
            raise refuse((*where, "regex"), message) from None
        problem = re2_problem(regex)
        if problem is not None:
            raise refuse(
                (*where, "regex"),
                f"column {name!r}: RE2 cannot run this pattern ({problem}); lookaround, "
                "backreferences, possessive and atomic groups are not supported: rewrite it "
                "without them",
            )

    role: Role = spec.get("role", "feature")
    return ColumnSpec(
        name=name,
        dtype=dtype,
        required=spec.get("required", True),
        nullable=nullable,
        max_null_share=share,
        min=low,
        max=high,
        allowed=tuple(allowed) if allowed is not None else None,
        regex=regex,
        unique=spec.get("unique", False),
        description=spec.get("description", ""),
        role=role,
        drift=spec.get("drift", role != "id"),
    )


def full_match_pattern(regex: str) -> str:
    """The pattern checks run: ``regex`` matching a whole value."""
    return f"^(?:{regex})$"


def re2_problem(regex: str) -> str | None:
    """Why RE2 refuses ``regex`` (its own words, e.g. ``invalid perl operator: (?!``), or None.

    Patterns run in RE2 only: linear time whatever the value. Python's backtracking ``re``
    would accept more (lookaround, backreferences), and hang on ``(a+)+(?!x)`` over a
    41-character value, so such a contract is refused instead of run.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""]), pattern=full_match_pattern(regex))
    except pa.ArrowInvalid as exc:
        return str(exc).removeprefix("Invalid regular expression: ").strip() or "unsupported"
    return None


def _table(
    raw: dict[str, Any] | None, columns: dict[str, ColumnSpec], refuse: _Refuse
) -> TableSpec:
    spec = raw or {}
    rows = spec.get("rows") or {}
    low, high = rows.get("min"), rows.get("max")
    if low is not None and high is not None and low > high:
        raise refuse(("table", "rows", "min"), f"min {low} is greater than max {high}")
    policy: UnexpectedPolicy = spec.get("unexpected_columns", "fail")
    primary_key = tuple(spec.get("primary_key") or ())
    required = tuple(spec.get("required_columns") or ())
    if policy != "allow":
        # With undeclared columns refused, a rule on an undeclared column could never pass:
        # that is a typo in the contract, not a data problem.
        for key, names in (("primary_key", primary_key), ("required_columns", required)):
            for i, col in enumerate(names):
                if col not in columns:
                    raise refuse(
                        ("table", key, i),
                        f"column {col!r} is not declared under columns "
                        f"(declare it, or set table.unexpected_columns: allow)",
                    )
    return TableSpec(
        rows_min=low,
        rows_max=high,
        primary_key=primary_key,
        no_duplicate_rows=spec.get("no_duplicate_rows", False),
        required_columns=required,
        unexpected_columns=policy,
    )


def parse_contract(data: Any, path: str | Path, node: yaml.Node | None = None) -> Contract:
    """Validate already-parsed contract data (a mapping) and build the Contract."""
    source = Path(path)
    refuse = _Refuse(source, node)
    if data is None:
        raise DataError(
            source, "the contract is empty; it needs at least 'version: 1' and a 'columns:' mapping"
        )
    if not isinstance(data, dict):
        raise DataError(
            source,
            "the contract must be a mapping with keys version, columns, table; "
            f"found {_type_name(data)}",
            line=_line_of(node, ()),
        )
    names = _column_names(data.get("columns"), node, source)
    _validate_schema(data, refuse)
    columns = {
        names[i]: _column(names[i], raw, refuse) for i, raw in enumerate(data["columns"].values())
    }
    targets = [name for name, spec in columns.items() if spec.role == "target"]
    if len(targets) > 1:
        raise refuse(
            ("columns", targets[1], "role"),
            f"a second target column (the first is {targets[0]!r}); mark one label column "
            "role: target",
        )
    table = _table(data.get("table"), columns, refuse)
    return Contract(
        columns=columns,
        table=table,
        path=source,
        version=int(data["version"]),
        description=str(data.get("description", "")),
    )


def _column_names(columns: Any, node: yaml.Node | None, source: Path) -> list[str]:
    """The column names as written: YAML reads ``true:`` as a boolean and ``1.50:`` as a
    number, but the data's column is named ``true`` or ``1.50``; a null key (``null:``,
    ``~:``, a bare ``:``) names no column at all and is refused at its line."""
    if not isinstance(columns, dict):
        return []
    keys: list[yaml.Node | None] = [None] * len(columns)
    found = _mapping_child(node, "columns")
    if found is not None and len(found.value) == len(columns):
        keys = [key for key, _ in found.value]
    names = []
    for name, key in zip(columns, keys, strict=True):
        line = key.start_mark.line + 1 if key is not None else None
        if name is None:
            raise DataError(
                source,
                "columns: a column without a name (a null key such as 'null:' or '~:'); "
                "write the column's name, quoted if it is 'null'",
                line=line,
            )
        if isinstance(name, str) or not isinstance(key, yaml.ScalarNode):
            names.append(str(name))
        else:
            names.append(key.value)
    return names


def _mapping_child(node: yaml.Node | None, key: str) -> yaml.MappingNode | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value if isinstance(value, yaml.MappingNode) else None
    return None


def load_contract(path: str | Path) -> Contract:
    """Read and validate a contract file; any problem is a DataError naming file, line and key."""
    source = Path(path)
    data, node = _parse_yaml(source)
    return parse_contract(data, source, node)


def plain_bound(value: Any) -> Any:
    """Dates in inferred contracts are written as ISO text, the form load_contract reads."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
