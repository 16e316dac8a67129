"""What each pickle opcode does to the symbolic unpickler's stack, memo and marks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelci.scanning.findings import Global
from modelci.scanning.rules import Rule
from modelci.scanning.streams import Stream
from modelci.scanning.symbols import (
    NUMPY_ARRAY_WRAPPER,
    OPAQUE,
    Const,
    Dic,
    Malformed,
    NotAPickle,
    Obj,
    Ref,
    Tup,
    Value,
    describe,
    holds_wrapper,
    instance_class,
)

if TYPE_CHECKING:
    from modelci.scanning.pickles import Walker

#: strings up to this length stay constants (STACK_GLOBAL needs them); longer ones are data
_MAX_CONST_STR = 4096
#: bytes constants at least this long are checked for an embedded pickle or archive
_MIN_EMBEDDED = 32
#: what joblib leaves on the stack in place of a wrapper it has read
_ARRAY = Global("numpy", "ndarray")


def _stored(w: Walker, opcode: str, pos: int, *values: Value) -> None:
    """Values go into a list, set or dict: joblib's wrapper class must not (see
    symbols.holds_wrapper)."""
    if any(holds_wrapper(v) for v in values):
        w.wrapper_misuse(opcode, pos)


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
    _stored(w, "APPEND", pos, w._pop())
    w._top()


def _appends(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    _stored(w, "APPENDS", pos, *w._pop_mark())
    w._top()


def _list_from_mark(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    _stored(w, "LIST", pos, *w._pop_mark())
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
    _stored(w, "DICT", pos, *items)
    if len(items) % 2:
        raise Malformed(f"DICT at byte {pos} has an odd number of items")
    d = Dic()
    for i in range(0, len(items), 2):
        d.set(items[i], items[i + 1])
    w.stack.append(d)


def _setitem(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    value = w._pop()
    key = w._pop()
    _stored(w, "SETITEM", pos, key, value)
    target = w._top()
    if isinstance(target, Dic):
        target.set(key, value)


def _setitems(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    items = w._pop_mark()
    _stored(w, "SETITEMS", pos, *items)
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
        f"{describe(module)} and {describe(name)}, not constant strings: what it imports "
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
    _stored(w, "NEWOBJ_EX", pos, w._pop())  # kwargs
    args = w._pop()
    cls = w._pop()
    w.stack.append(w._call(cls, args, "NEWOBJ_EX", pos))


def _build(w: Walker, arg: Any, pos: int, stream: Stream) -> None:
    state = w._pop()
    target = w._top()
    parts = state.items if isinstance(state, Tup) else (state,)
    dunders: set[str] = set()
    for part in parts:
        if isinstance(part, Dic):
            dunders |= part.dunders
    if dunders:
        w._report(
            Rule.BUILD_DUNDER,
            f"BUILD at byte {pos} sets {', '.join(sorted(dunders))} on "
            f"{describe(target)}: a later BUILD or call would run what it points to",
            pos,
            "BUILD",
        )
    if isinstance(target, Ref):
        w._report(
            Rule.BUILD_GLOBAL,
            f"BUILD at byte {pos} sets attributes on {target.global_ or 'an imported object'} "
            "itself: every later use of it would run what they point to",
            pos,
            "BUILD",
        )
    _stored(w, "BUILD", pos, state)
    if not isinstance(target, Obj):
        return
    target.state = state
    for part in parts:
        if isinstance(part, Dic):
            target.attrs = {**(target.attrs or {}), **part.items}
    if w.joblib and instance_class(target) == NUMPY_ARRAY_WRAPPER:
        w._joblib_array(target, stream, pos)
        # joblib's load_build replaces the wrapper on the stack with the array it read
        w.stack[-1] = Obj(_ARRAY, Tup(()))


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
    _stored(w, "BINPERSID", pos, w._pop())
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


HANDLERS: dict[str, Any] = {
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
