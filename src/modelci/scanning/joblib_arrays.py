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


def wrapper_layout(attrs: dict[Any, Value], pos: int) -> tuple[int, bool, int, bool]:
    """(itemsize, has objects, element count, padded) from a NumpyArrayWrapper's attributes
    (every BUILD's state merged, as the object's ``__dict__`` would hold them)."""
    shape = attrs.get("shape")
    if not isinstance(shape, Tup) or not all(
        isinstance(d, Const) and type(d.value) is int and d.value >= 0 for d in shape.items
    ):
        raise Malformed(f"the NumpyArrayWrapper BUILD at byte {pos} has no readable shape")
    count = math.prod(d.value for d in shape.items if isinstance(d, Const))
    dtype = _dtype(attrs.get("dtype"), pos)
    padding = attrs.get("numpy_array_alignment_bytes")
    # joblib pads whenever the attribute exists and is not None
    aligned = padding is not None and not (isinstance(padding, Const) and padding.value is None)
    return int(dtype.itemsize), bool(dtype.hasobject), count, aligned


def _dtype(value: Value | None, pos: int, depth: int = 0) -> Any:
    """The numpy dtype the unpickler would rebuild, from constants only.

    Built by numpy itself (``np.dtype(typestr)`` then ``__setstate__`` with the pickled
    state, as unpickling does) so item size and object-ness are exactly what joblib will
    use with this numpy: numpy decides which state fields it honours for which kind.
    """
    if (
        depth > 32
        or not isinstance(value, Obj)
        or value.cls not in _DTYPES
        or not isinstance(value.args, Tup)
        or not value.args.items
        or not isinstance(value.args.items[0], Const)
        or not isinstance(value.args.items[0].value, str)
        or not _TYPESTR.fullmatch(value.args.items[0].value)
    ):
        raise Malformed(f"the NumpyArrayWrapper BUILD at byte {pos} has no readable dtype")
    import numpy as np

    flags = [item.value for item in value.args.items[1:3] if isinstance(item, Const)]
    align = bool(flags[0]) if flags and isinstance(flags[0], bool) else False
    try:
        dtype: Any = np.dtype(value.args.items[0].value, align=align, copy=True)
        if value.state is not None:
            dtype.__setstate__(_plain(value.state, pos, depth))
    except (TypeError, ValueError, OverflowError) as exc:
        raise Malformed(f"the dtype at byte {pos} cannot be rebuilt ({exc})") from None
    return dtype


def _plain(value: Value, pos: int, depth: int) -> Any:
    """A dtype's pickled state as plain values (nested dtypes rebuilt); anything else in it
    (a call result, a global) makes the layout unknowable."""
    if isinstance(value, Const):
        return value.value
    if isinstance(value, Tup):
        return tuple(_plain(item, pos, depth) for item in value.items)
    if isinstance(value, Dic):
        return {key: _plain(item, pos, depth) for key, item in value.items.items()}
    if isinstance(value, Obj):
        return _dtype(value, pos, depth + 1)
    raise Malformed(f"the dtype state at byte {pos} holds {type(value).__name__.lower()}")
