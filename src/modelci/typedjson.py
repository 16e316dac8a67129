"""Frozen dataclasses to and from JSON, and the JSON Schema that describes them.

The manifest (and other files steps hand each other) is declared once, as dataclasses; its
JSON Schema is derived from the same declarations, so the file's contract and the code's
types cannot drift apart. Supported field types: ``str``, ``int``, ``float``, ``bool``,
``None``, ``Any``, unions with ``None``, ``tuple[T, ...]``, ``dict[str, T]``, ``Literal``,
and nested dataclasses. Data is validated against the schema before :func:`load` builds
objects from it, so the builder trusts shapes and only converts.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar, get_args, get_origin

T = TypeVar("T")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def dump(value: Any) -> Any:
    """The JSON value of a dataclass (fields set to ``None`` are left out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: dump(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, Mapping):
        return {str(k): dump(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [dump(v) for v in value]
    return value


def load(cls: type[T], data: Any) -> T:
    """A ``cls`` built from JSON ``data`` that the schema of ``cls`` already accepted."""
    built: T = _build(cls, data)
    return built


def _build(hint: Any, value: Any) -> Any:
    if hint is Any or hint is object:
        return value
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if value is None:
            return None
        for option in options:
            if _matches(option, value):
                return _build(option, value)
        return value
    if origin is typing.Literal:
        return value
    if origin is tuple:
        item = get_args(hint)[0]
        return tuple(_build(item, v) for v in value)
    if origin in (dict, Mapping):
        item = get_args(hint)[1]
        return {k: _build(item, v) for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = _hints(hint)
        kwargs = {
            f.name: _build(hints[f.name], value[f.name])
            for f in dataclasses.fields(hint)
            if f.name in value
        }
        return hint(**kwargs)
    if hint is float and isinstance(value, int):
        return float(value)
    return value


def _matches(hint: Any, value: Any) -> bool:
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint) or origin in (dict, Mapping):
        return isinstance(value, dict)
    if origin is tuple:
        return isinstance(value, list)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint in (str, int, bool):
        return isinstance(value, hint)
    return True


def schema(cls: type, *, title: str = "", description: str = "") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``cls``, with nested dataclasses under ``$defs``."""
    defs: dict[str, Any] = {}
    root = _object_schema(cls, defs)
    document: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    if title:
        document["title"] = title
    document.update(root)
    if description:
        document["description"] = description
    if defs:
        document["$defs"] = dict(sorted(defs.items()))
    return document


def _object_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = _hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        prop = _schema_of(hints[f.name], defs)
        doc = f.metadata.get("doc")
        if doc:
            prop = {**prop, "description": doc}
        properties[f.name] = prop
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    node: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required:
        node["required"] = required
    if cls.__doc__:
        node["description"] = " ".join(cls.__doc__.split())
    return node


def _schema_of(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if hint is Any or hint is object:
        return {}
    if hint is type(None):
        return {"type": "null"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if hint in simple:
        return {"type": simple[hint]}
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_of(a, defs) for a in get_args(hint)]}
    if origin is typing.Literal:
        return {"enum": list(get_args(hint))}
    if origin is tuple:
        return {"type": "array", "items": _schema_of(get_args(hint)[0], defs)}
    if origin in (dict, Mapping):
        return {"type": "object", "additionalProperties": _schema_of(get_args(hint)[1], defs)}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        name = hint.__name__
        if name not in defs:
            defs[name] = {}  # a placeholder first: a dataclass may refer to itself
            defs[name] = _object_schema(hint, defs)
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"no JSON Schema for {hint!r}")
