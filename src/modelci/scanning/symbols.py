"""Stand-ins for what an unpickler would build: enough to know what it imports and calls."""

from __future__ import annotations

import _compat_pickle
from dataclasses import dataclass, field
from typing import Any

from modelci.scanning.findings import Global

NUMPY_ARRAY_WRAPPER = Global("joblib.numpy_pickle", "NumpyArrayWrapper")
#: how protocol 0/1 pickles build a plain object: _reconstructor(cls, base, state)
RECONSTRUCTOR = Global("copyreg", "_reconstructor")
_MAX_DICT_ITEMS = 256


class Malformed(Exception):
    """The opcodes break the unpickler's own rules (stack underflow, missing MARK)."""


class Value:
    __slots__ = ()


class Opaque(Value):
    """Data the scan does not need to follow (lists, sets, large strings, buffers)."""

    __slots__ = ()


OPAQUE = Opaque()


@dataclass(eq=False, slots=True)
class Const(Value):
    value: Any


@dataclass(eq=False, slots=True)
class Ref(Value):
    """What GLOBAL-like opcodes push; ``None`` when it cannot be known (EXT codes)."""

    global_: Global | None


@dataclass(eq=False, slots=True)
class Obj(Value):
    """The result of calling ``cls`` (``None``: not a named global)."""

    cls: Global | None
    args: Value
    state: Value | None = None
    #: every BUILD's dict state merged: what the object's ``__dict__`` would hold
    attrs: dict[Any, Value] | None = None


@dataclass(eq=False, slots=True)
class Tup(Value):
    items: tuple[Value, ...]


@dataclass(eq=False, slots=True)
class Dic(Value):
    items: dict[Any, Value] = field(default_factory=dict)
    dunders: set[str] = field(default_factory=set)

    def set(self, key: Value, value: Value) -> None:
        if isinstance(key, Const) and isinstance(key.value, str | int | float | bool | None):
            if (
                isinstance(key.value, str)
                and key.value.startswith("__")
                and key.value.endswith("__")
            ):
                self.dunders.add(key.value)
            if len(self.items) < _MAX_DICT_ITEMS or key.value in self.items:
                self.items[key.value] = value


def effective_global(module: str, name: str, proto: int) -> Global:
    """The (module, name) the unpickler imports: protocol < 3 renames Python 2 names."""
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return Global(module, name)


class NotAPickle(Exception):
    """Probing a stream without pickle magic found no importable global before it broke."""


def describe(value: Value) -> str:
    if isinstance(value, Obj):
        return f"the result of calling {value.cls}" if value.cls else "the result of a call"
    if isinstance(value, Const):
        return f"a constant {type(value.value).__name__}"
    return type(value).__name__.lower()


def instance_class(value: Obj) -> Global | None:
    """The class an object is an instance of, when the call that made it says so."""
    if value.cls == RECONSTRUCTOR and isinstance(value.args, Tup) and value.args.items:
        first = value.args.items[0]
        return first.global_ if isinstance(first, Ref) else None
    return value.cls


def holds_wrapper(value: Value) -> bool:
    """Whether ``value`` is, or is a tuple holding, joblib's NumpyArrayWrapper class.

    Lists, sets and dicts never hold it unreported: putting it in one is itself a finding.
    """
    if isinstance(value, Ref):
        return value.global_ == NUMPY_ARRAY_WRAPPER
    if isinstance(value, Tup):
        return any(holds_wrapper(item) for item in value.items)
    return False
