"""The pickle walker: ``pickletools.genops`` parses opcodes, this module tracks what they do.

Nothing is unpickled. A small symbolic machine mirrors the unpickler's stack, mark stack
and memo with stand-in values, so that what a loader would import is known exactly:

- GLOBAL / INST name their (module, name) in the opcode; STACK_GLOBAL takes both from the
  stack, where they must be constant strings (pushed directly or fetched from the memo);
  anything else is a finding, because only running the pickle could tell what it imports;
- protocol < 3 imports go through the same ``_compat_pickle`` renaming the unpickler
  applies (``__builtin__`` -> ``builtins``), so the allowlist sees what is really imported;
- REDUCE / NEWOBJ / NEWOBJ_EX / OBJ / INST must call a named global; calling anything else
  (the result of another call) is a finding;
- BUILD may not set dunder attributes (the ``__setstate__`` trick);
- EXT1/2/4 (the copyreg extension registry) and persistent ids depend on the loading
  process, so they are findings;
- joblib: after a BUILD of ``joblib.numpy_pickle.NumpyArrayWrapper`` the raw array bytes
  follow in the stream. Their length comes from the wrapper's shape and dtype; they are
  skipped, or, for object arrays, walked as the nested pickle joblib reads there. Because
  ``pickle.load`` would read those bytes as opcodes instead, that reading is walked too
  whenever it could go anywhere.
"""

from __future__ import annotations

import _compat_pickle
import math
import pickletools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelci.scanning.findings import Global
from modelci.scanning.rules import Rule
from modelci.scanning.sniff import OPCODE_BYTES
from modelci.scanning.streams import LimitExceeded, Stream, Unsupported
from modelci.scanning.where import Where

if TYPE_CHECKING:
    from modelci.scanning.session import Session

NUMPY_ARRAY_WRAPPER = Global("joblib.numpy_pickle", "NumpyArrayWrapper")
_DTYPES = frozenset({Global("numpy", "dtype")})
_TYPESTR = re.compile(r"[A-Za-z?][0-9]*")

#: strings up to this length stay constants (STACK_GLOBAL needs them); longer ones are data
_MAX_CONST_STR = 4096
#: bytes constants at least this long are checked for an embedded pickle or archive
_MIN_EMBEDDED = 32
#: how far the pickle.load reading of joblib array bytes is followed
_LOOKAHEAD = 64 * 1024
_MAX_DICT_ITEMS = 256


class Malformed(Exception):
    """The opcodes break the unpickler's own rules (stack underflow, missing MARK)."""


# ---------------------------------------------------------------- symbolic values
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


@dataclass
class _Hit:
    offset: int
    opcode: str
    count: int = 1


class NotAPickle(Exception):
    """Probing a stream without pickle magic found no importable global before it broke."""


@dataclass
class Outcome:
    """What walking a stream found out about it."""

    pickles: int = 0
    protocol: int = 0
    joblib: bool = False
    #: probing: an importable global was seen or a STOP reached, so loaders would act on it
    acts: bool = False
    error: str | None = None


# ---------------------------------------------------------------- the walker
class Walker:
    """Walks ONE pickle (up to its STOP) of a stream."""

    def __init__(
        self,
        session: Session,
        where: Where,
        *,
        joblib: bool = True,
        probe: bool = False,
        base: int = 0,
    ) -> None:
        self.session = session
        self.where = where
        self.joblib = joblib
        #: probing decides whether a stream is a pickle at all: it reports nothing
        self.probe = probe
        #: offset of this stream's first byte in the stream findings are reported against
        self.base = base
        #: the pickle.load reading of joblib array bytes: its breakage is not a finding
        self.lenient = False
        self.stack: list[Value] = []
        self.meta: list[list[Value]] = []
        self.memo: dict[int, Value] = {}
        self.proto = 0
        self.stopped = False
        self.importable_global = False
        self.used_joblib = False
        self.hits: dict[Global, _Hit] = {}
        self.allowed: set[Global] = set()
        self.globals_seen = 0

    # -- reporting
    def _report(
        self,
        rule: Rule,
        message: str,
        offset: int | None,
        opcode: str | None = None,
        global_: Global | None = None,
    ) -> None:
        if not self.probe:
            self.session.report(
                self.where, rule, message, offset=offset, opcode=opcode, global_=global_
            )

    def flush(self) -> None:
        """Hand the globals this walk saw to the session: one finding per unsafe global."""
        if self.probe:
            return
        self.session.saw_globals(self.globals_seen, self.allowed)
        for g, hit in self.hits.items():
            times = f" ({hit.count} times)" if hit.count > 1 else ""
            self.session.report(
                self.where,
                Rule.UNSAFE_GLOBAL,
                f"{hit.opcode} at byte {hit.offset} imports {g}{times}, which is not on the "
                f"allowlist; loading runs it. If you trust it, add '{g}' to scan.allow",
                offset=hit.offset,
                opcode=hit.opcode,
                global_=g,
            )
        self.hits.clear()
        self.allowed.clear()
        self.globals_seen = 0

    # -- stack discipline, as the unpickler enforces it
    def _pop(self) -> Value:
        if not self.stack:
            raise Malformed("unpickling stack underflow")
        return self.stack.pop()

    def _top(self) -> Value:
        if not self.stack:
            raise Malformed("unpickling stack underflow")
        return self.stack[-1]

    def _pop_mark(self) -> list[Value]:
        if not self.meta:
            raise Malformed("MARK not found")
        items = self.stack
        self.stack = self.meta.pop()
        return items

    # -- imports and calls
    def _global(self, module: str, name: str, opcode: str, pos: int) -> Ref:
        g = effective_global(module, name, self.proto)
        self.globals_seen += 1
        if g.importable:
            self.importable_global = True
        elif self.probe:
            # a name no import can resolve: the unpickler would stop here, acting on nothing
            raise NotAPickle(f"{opcode} names {module!r} {name!r}")
        if self.session.allows(g):
            self.allowed.add(g)
        elif g in self.hits:
            self.hits[g].count += 1
        else:
            self.hits[g] = _Hit(pos, opcode)
        return Ref(g)

    def _call(self, target: Value, args: Value, opcode: str, pos: int) -> Obj:
        if isinstance(target, Ref):
            return Obj(target.global_, args)
        self._report(
            Rule.INDIRECT_CALL,
            f"{opcode} at byte {pos} calls a value that is not a named global "
            f"({_describe(target)}); no allowlist can vouch for it",
            pos,
            opcode,
        )
        return Obj(None, args)

    # -- the walk
    def run(self, stream: Stream) -> None:
        """Walk one pickle to its STOP; raises on malformed input."""
        ops = pickletools.genops(stream)  # type: ignore[arg-type]
        handlers = _HANDLERS
        for opcode, arg, pos in _positions(ops):
            name = opcode.name
            at = self.base + pos
            handler = handlers.get(name)
            if handler is None:  # a new opcode this walker does not model: refuse it
                raise Malformed(f"opcode {name} at byte {at} is not modelled by the scanner")
            handler(self, arg, at, stream)
            if self.stopped:
                return

    # -- joblib inline arrays
    def _joblib_array(self, wrapper: Obj, stream: Stream, pos: int) -> None:
        itemsize, hasobject, count, aligned = _wrapper_layout(wrapper.state, pos)
        self.used_joblib = True
        start = stream.tell()
        at = self.base + start
        if hasobject:
            # joblib reads an object array as a nested pickle, with a fresh unpickler
            nested = Walker(
                self.session,
                self.where.child(f"object array at byte {at}"),
                joblib=False,
                probe=self.probe,
                base=self.base,
            )
            try:
                nested.run(stream)
            finally:
                nested.flush()
            if not nested.stopped:
                raise Malformed(f"the object array at byte {at} ends before its STOP")
            return
        self._pickle_reading(stream, at)
        if aligned:
            pad = stream.read(1)
            if len(pad) != 1 or stream.skip(pad[0]) != pad[0]:
                raise Malformed(f"the joblib array at byte {at} ends in its padding")
        size = count * itemsize
        if stream.skip(size) != size:
            raise Malformed(f"the joblib array at byte {at} is shorter than its {size} bytes")

    def _pickle_reading(self, stream: Stream, at: int) -> None:
        """Walk the bytes joblib takes as array data the way pickle.load would."""
        head = stream.peek(1)
        if not head or head[0] not in OPCODE_BYTES or head == b".":
            return  # pickle.load stops here (invalid opcode, end, or STOP)
        look = stream.peek(_LOOKAHEAD)
        fork = Walker(
            self.session,
            self.where.child(f"pickle.load reading of the joblib array at byte {at}"),
            joblib=False,
            probe=self.probe,
            base=at,
        )
        fork.lenient = True
        fork.proto = self.proto
        fork.stack = list(self.stack)
        fork.meta = [list(frame) for frame in self.meta]
        fork.memo = dict(self.memo)
        view = Stream.of_bytes(look)
        try:
            fork.run(view)
        except (LimitExceeded, Unsupported):
            raise
        except Exception:
            # the reading breaks, as pickle.load would; if it only broke because the
            # look-ahead ended, nothing can be said about what follows
            if view.tell() >= len(look) and len(look) == _LOOKAHEAD:
                self._report(
                    Rule.JOBLIB_AMBIGUOUS,
                    f"the {_LOOKAHEAD} bytes after the joblib array header at byte {at} "
                    "parse as pickle opcodes: pickle.load would run them; re-save the model "
                    "with joblib >= 1.2",
                    at,
                )
        finally:
            fork.flush()


def _positions(ops: Iterator[tuple[Any, Any, int | None]]) -> Iterator[tuple[Any, Any, int]]:
    for opcode, arg, pos in ops:
        yield opcode, arg, pos or 0


def _describe(value: Value) -> str:
    if isinstance(value, Obj):
        return f"the result of calling {value.cls}" if value.cls else "the result of a call"
    if isinstance(value, Const):
        return f"a constant {type(value.value).__name__}"
    return type(value).__name__.lower()


def _wrapper_layout(state: Value | None, pos: int) -> tuple[int, bool, int, bool]:
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


# ---------------------------------------------------------------- opcode handlers
def _push_const(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(Const(arg))


def _push_str(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(Const(arg) if len(arg) <= _MAX_CONST_STR else OPAQUE)


def _push_bytes(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    data = arg.encode("latin-1") if isinstance(arg, str) else bytes(arg)
    if len(data) >= _MIN_EMBEDDED and not w.probe and not w.lenient:
        w.session.scan_embedded(data, w.where.child(f"bytes at byte {pos}"))
    w.stack.append(Const(data) if len(data) <= _MAX_CONST_STR else OPAQUE)


def _push_none(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(Const(None))


def _push_true(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(Const(True))


def _push_false(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(Const(False))


def _push_opaque(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(OPAQUE)


def _push_empty_tuple(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(Tup(()))


def _push_empty_dict(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(Dic())


def _need_top(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._top()


def _append(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._pop()
    w._top()


def _appends(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._pop_mark()
    w._top()


def _list_from_mark(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._pop_mark()
    w.stack.append(OPAQUE)


def _tuple(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    items = tuple(w._pop_mark())  # replaces w.stack: read it only afterwards
    w.stack.append(Tup(items))


def _tuple_n(n: int) -> Any:
    def handler(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
        if len(w.stack) < n:
            raise Malformed("unpickling stack underflow")
        items = tuple(w.stack[-n:])
        del w.stack[-n:]
        w.stack.append(Tup(items))

    return handler


def _dict(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    items = w._pop_mark()
    if len(items) % 2:
        raise Malformed(f"DICT at byte {pos} has an odd number of items")
    d = Dic()
    for i in range(0, len(items), 2):
        d.set(items[i], items[i + 1])
    w.stack.append(d)


def _setitem(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    value = w._pop()
    key = w._pop()
    target = w._top()
    if isinstance(target, Dic):
        target.set(key, value)


def _setitems(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    items = w._pop_mark()
    target = w._top()
    if len(items) % 2:
        raise Malformed(f"SETITEMS at byte {pos} has an odd number of items")
    if isinstance(target, Dic):
        for i in range(0, len(items), 2):
            target.set(items[i], items[i + 1])


def _pop(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    if w.stack:
        w.stack.pop()
    else:
        w._pop_mark()


def _pop_mark(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._pop_mark()


def _dup(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.stack.append(w._top())


def _mark(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.meta.append(w.stack)
    w.stack = []


def _get(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    if arg not in w.memo:
        raise Malformed(f"memo entry {arg} read at byte {pos} was never stored")
    w.stack.append(w.memo[arg])


def _put(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    if arg < 0:
        raise Malformed(f"negative memo index at byte {pos}")
    w.memo[arg] = w._top()


def _memoize(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w.memo[len(w.memo)] = w._top()


def _global_op(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    module, _, name = str(arg).partition(" ")
    w.stack.append(w._global(module, name, "GLOBAL", pos))


def _stack_global(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    name = w._pop()
    module = w._pop()
    if (
        isinstance(module, Const)
        and isinstance(name, Const)
        and type(module.value) is str
        and type(name.value) is str
    ):
        w.stack.append(w._global(module.value, name.value, "STACK_GLOBAL", pos))
        return
    if w.probe:
        raise NotAPickle("STACK_GLOBAL without constant names")
    w.globals_seen += 1
    w._report(
        Rule.UNRESOLVED_GLOBAL,
        f"STACK_GLOBAL at byte {pos} takes its module and name from "
        f"{_describe(module)} and {_describe(name)}, not constant strings: what it imports "
        "cannot be known without running the pickle",
        pos,
        "STACK_GLOBAL",
    )
    w.stack.append(Ref(None))


def _inst(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    module, _, name = str(arg).partition(" ")
    ref = w._global(module, name, "INST", pos)
    args = Tup(tuple(w._pop_mark()))
    w.stack.append(Obj(ref.global_, args))


def _obj(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    items = w._pop_mark()
    if not items:
        raise Malformed(f"OBJ at byte {pos} has nothing to call")
    w.stack.append(w._call(items[0], Tup(tuple(items[1:])), "OBJ", pos))


def _reduce(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    args = w._pop()
    target = w._pop()
    w.stack.append(w._call(target, args, "REDUCE", pos))


def _newobj(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    args = w._pop()
    cls = w._pop()
    w.stack.append(w._call(cls, args, "NEWOBJ", pos))


def _newobj_ex(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._pop()  # kwargs
    args = w._pop()
    cls = w._pop()
    w.stack.append(w._call(cls, args, "NEWOBJ_EX", pos))


def _build(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    state = w._pop()
    target = w._top()
    dunders: set[str] = set()
    for part in state.items if isinstance(state, Tup) else (state,):
        if isinstance(part, Dic):
            dunders |= part.dunders
    if dunders:
        w._report(
            Rule.BUILD_DUNDER,
            f"BUILD at byte {pos} sets {', '.join(sorted(dunders))} on "
            f"{_describe(target)}: a later BUILD or call would run what it points to",
            pos,
            "BUILD",
        )
    if isinstance(target, Obj):
        target.state = state
        if w.joblib and target.cls == NUMPY_ARRAY_WRAPPER:
            w._joblib_array(target, stream, pos)


def _ext(name: str) -> Any:
    def handler(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
        w.globals_seen += 1
        w._report(
            Rule.EXTENSION_CODE,
            f"{name} at byte {pos} imports extension code {arg}, whatever the loading "
            "process registered under that number with copyreg",
            pos,
            name,
        )
        w.stack.append(Ref(None))

    return handler


def _persid(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._report(
        Rule.PERSISTENT_ID,
        f"PERSID at byte {pos} hands a persistent id to the loader's persistent_load hook, "
        "which decides what it becomes",
        pos,
        "PERSID",
    )
    w.stack.append(OPAQUE)


def _binpersid(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._pop()
    w._report(
        Rule.PERSISTENT_ID,
        f"BINPERSID at byte {pos} hands a persistent id to the loader's persistent_load "
        "hook, which decides what it becomes",
        pos,
        "BINPERSID",
    )
    w.stack.append(OPAQUE)


def _proto(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    if not 0 <= arg <= 5:
        raise Malformed(f"unsupported pickle protocol {arg} at byte {pos}")
    w.proto = arg


def _frame(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    return


def _stop(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    w._pop()
    w.stopped = True


_HANDLERS: dict[str, Any] = {
    "INT": _push_const,
    "BININT": _push_const,
    "BININT1": _push_const,
    "BININT2": _push_const,
    "LONG": _push_const,
    "LONG1": _push_const,
    "LONG4": _push_const,
    "FLOAT": _push_const,
    "BINFLOAT": _push_const,
    "STRING": _push_str,
    "BINSTRING": _push_str,
    "SHORT_BINSTRING": _push_str,
    "UNICODE": _push_str,
    "SHORT_BINUNICODE": _push_str,
    "BINUNICODE": _push_str,
    "BINUNICODE8": _push_str,
    "BINBYTES": _push_bytes,
    "SHORT_BINBYTES": _push_bytes,
    "BINBYTES8": _push_bytes,
    "BYTEARRAY8": _push_bytes,
    "NEXT_BUFFER": _push_opaque,
    "READONLY_BUFFER": _need_top,
    "NONE": _push_none,
    "NEWTRUE": _push_true,
    "NEWFALSE": _push_false,
    "EMPTY_LIST": _push_opaque,
    "EMPTY_SET": _push_opaque,
    "EMPTY_TUPLE": _push_empty_tuple,
    "EMPTY_DICT": _push_empty_dict,
    "APPEND": _append,
    "APPENDS": _appends,
    "ADDITEMS": _appends,
    "LIST": _list_from_mark,
    "FROZENSET": _list_from_mark,
    "TUPLE": _tuple,
    "TUPLE1": _tuple_n(1),
    "TUPLE2": _tuple_n(2),
    "TUPLE3": _tuple_n(3),
    "DICT": _dict,
    "SETITEM": _setitem,
    "SETITEMS": _setitems,
    "POP": _pop,
    "POP_MARK": _pop_mark,
    "DUP": _dup,
    "MARK": _mark,
    "GET": _get,
    "BINGET": _get,
    "LONG_BINGET": _get,
    "PUT": _put,
    "BINPUT": _put,
    "LONG_BINPUT": _put,
    "MEMOIZE": _memoize,
    "GLOBAL": _global_op,
    "STACK_GLOBAL": _stack_global,
    "INST": _inst,
    "OBJ": _obj,
    "REDUCE": _reduce,
    "NEWOBJ": _newobj,
    "NEWOBJ_EX": _newobj_ex,
    "BUILD": _build,
    "EXT1": _ext("EXT1"),
    "EXT2": _ext("EXT2"),
    "EXT4": _ext("EXT4"),
    "PERSID": _persid,
    "BINPERSID": _binpersid,
    "PROTO": _proto,
    "FRAME": _frame,
    "STOP": _stop,
}


# ---------------------------------------------------------------- streams of pickles
def walk_pickles(session: Session, stream: Stream, where: Where, *, probe: bool = False) -> Outcome:
    """Walk every pickle of ``stream`` (joblib and torch-like files concatenate them).

    Findings go to the session; the outcome says what the stream turned out to be. When
    probing, nothing is reported and the walk stops after the first pickle.
    """
    outcome = Outcome()
    while True:
        head = stream.peek(1)
        if not head:
            if outcome.pickles == 0 and not probe:
                session.report(where, Rule.UNPARSEABLE, "the pickle stream is empty", offset=0)
            return outcome
        if outcome.pickles and head[0] not in OPCODE_BYTES:
            extra = stream.skip(1 << 62)
            session.report(
                where,
                Rule.TRAILING_DATA,
                f"{extra} bytes after the last pickle are not a pickle; pickle.load never "
                "reads them",
                offset=stream.tell() - extra,
            )
            return outcome
        walker = Walker(session, where, probe=probe)
        start = stream.tell()
        try:
            walker.run(stream)
        except NotAPickle:
            outcome.acts = walker.importable_global
            return outcome
        except (LimitExceeded, Unsupported):
            walker.flush()
            raise
        except Exception as exc:  # genops' ValueError, Malformed, broken UTF-8, ...
            outcome.acts = outcome.acts or walker.importable_global or walker.stopped
            outcome.error = f"{type(exc).__name__}: {exc}"
            walker.flush()
            if not probe:
                session.report(
                    where,
                    Rule.UNPARSEABLE,
                    f"the pickle starting at byte {start} cannot be parsed past byte "
                    f"{stream.tell()} ({type(exc).__name__}: {str(exc)[:160]}); a loader "
                    "runs what comes before",
                    offset=stream.tell(),
                )
            return outcome
        walker.flush()
        if not walker.stopped:
            outcome.acts = outcome.acts or walker.importable_global
            if not probe:
                session.report(
                    where,
                    Rule.UNPARSEABLE,
                    f"the pickle starting at byte {start} ends before its STOP opcode",
                    offset=stream.tell(),
                )
            return outcome
        outcome.pickles += 1
        outcome.acts = True
        outcome.protocol = max(outcome.protocol, walker.proto)
        outcome.joblib |= walker.used_joblib
        if probe:
            return outcome
