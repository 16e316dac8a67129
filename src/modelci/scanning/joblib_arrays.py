"""The layout of a joblib inline array, read from its NumpyArrayWrapper's pickled state.

joblib writes a ``NumpyArrayWrapper`` (shape, order, dtype) and then the array's raw bytes
into the pickle stream; their count comes from the shape and the dtype's item size, which
is read here from the dtype's pickled reduce arguments without building a dtype from them
(only a plain type string like ``f8`` is handed to numpy to size it).
"""

from __future__ import annotations

import math
import re
from typing import Any

from modelci.scanning.findings import Global
from modelci.scanning.symbols import Const, Dic, Malformed, Obj, Tup, Value

_DTYPES = frozenset({Global("numpy", "dtype")})
_TYPESTR = re.compile(r"[A-Za-z?][0-9]*")


def wrapper_layout(state: Value | None, pos: int) -> tuple[int, bool, int, bool]:
    """(itemsize, has objects, element count, padded) of a NumpyArrayWrapper's state."""
    fields: dict[Any, Value] = {}
    for part in state.items if isinstance(state, Tup) else (state,):
        if isinstance(part, Dic):
            fields.update(part.items)
    shape = fields.get("shape")
    if not isinstance(shape, Tup) or not all(
        isinstance(d, Const) and type(d.value) is int and d.value >= 0 for d in shape.items
    ):
        raise Malformed(f"the NumpyArrayWrapper BUILD at byte {pos} has no readable shape")
    count = math.prod(d.value for d in shape.items if isinstance(d, Const))
    itemsize, hasobject = _dtype_layout(fields.get("dtype"), pos)
    padding = fields.get("numpy_array_alignment_bytes")
    aligned = padding is not None and not (isinstance(padding, Const) and padding.value is None)
    return itemsize, hasobject, count, aligned


def _dtype_layout(value: Value | None, pos: int, depth: int = 0) -> tuple[int, bool]:
    """(itemsize, has objects) of a pickled numpy dtype, read from its reduce arguments."""
    if (
        depth > 32
        or not isinstance(value, Obj)
        or value.cls not in _DTYPES
        or not isinstance(value.args, Tup)
        or not value.args.items
        or not isinstance(value.args.items[0], Const)
        or not isinstance(value.args.items[0].value, str)
    ):
        raise Malformed(f"the NumpyArrayWrapper BUILD at byte {pos} has no readable dtype")
    typestr: str = value.args.items[0].value
    state = value.state.items if isinstance(value.state, Tup) else ()
    hasobject = typestr.startswith("O")
    subarray = state[2] if len(state) > 2 else None
    if isinstance(subarray, Tup) and subarray.items:
        hasobject |= _dtype_layout(subarray.items[0], pos, depth + 1)[1]
    fields = state[4] if len(state) > 4 else None
    if isinstance(fields, Dic):
        for entry in fields.items.values():
            if isinstance(entry, Tup) and entry.items:
                hasobject |= _dtype_layout(entry.items[0], pos, depth + 1)[1]
    elsize = state[5] if len(state) > 5 else None
    if isinstance(elsize, Const) and type(elsize.value) is int and elsize.value > 0:
        return elsize.value, hasobject
    if not _TYPESTR.fullmatch(typestr):
        raise Malformed(f"the dtype {typestr[:40]!r} at byte {pos} is not a simple type")
    import numpy as np

    try:
        return int(np.dtype(typestr).itemsize), hasobject
    except TypeError:
        raise Malformed(f"the dtype {typestr!r} at byte {pos} is unknown to numpy") from None
