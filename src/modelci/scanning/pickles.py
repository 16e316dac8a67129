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

import pickletools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelci.scanning.findings import Global
from modelci.scanning.joblib_arrays import wrapper_layout
from modelci.scanning.opcodes import HANDLERS
from modelci.scanning.rules import Rule
from modelci.scanning.sniff import OPCODE_BYTES
from modelci.scanning.streams import LimitExceeded, Stream, Unsupported
from modelci.scanning.symbols import (
    NUMPY_ARRAY_WRAPPER,
    RECONSTRUCTOR,
    Malformed,
    NotAPickle,
    Obj,
    Ref,
    Tup,
    Value,
    describe,
    effective_global,
    holds_wrapper,
)
from modelci.scanning.where import Where

if TYPE_CHECKING:
    from modelci.scanning.session import Session

_LOOKAHEAD = 64 * 1024


@dataclass
class _Hit:
    offset: int
    opcode: str
    count: int = 1


@dataclass
class Outcome:
    """What walking a stream found out about it."""

    pickles: int = 0
    protocol: int = 0
    joblib: bool = False
    #: probing: an importable global was seen or a STOP reached, so loaders would act on it
    acts: bool = False
    error: str | None = None
    #: where the opcode that could not be parsed starts
    failed_at: int | None = None


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
        self.at = 0

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

    def wrapper_misuse(self, opcode: str, pos: int) -> None:
        self._report(
            Rule.JOBLIB_AMBIGUOUS,
            f"{opcode} at byte {pos} hands on joblib's NumpyArrayWrapper class in a way joblib "
            "never writes: joblib could then read raw array bytes where the scanner reads "
            "opcodes",
            pos,
            opcode,
            NUMPY_ARRAY_WRAPPER,
        )

    def _call(self, target: Value, args: Value, opcode: str, pos: int) -> Obj:
        honest = (  # protocol 0/1: copyreg._reconstructor(NumpyArrayWrapper, object, None)
            isinstance(target, Ref)
            and target.global_ == RECONSTRUCTOR
            and isinstance(args, Tup)
            and args.items
            and isinstance(args.items[0], Ref)
            and not any(holds_wrapper(item) for item in args.items[1:])
        )
        if not honest and holds_wrapper(args):
            self.wrapper_misuse(opcode, pos)
        if isinstance(target, Ref):
            return Obj(target.global_, args)
        self._report(
            Rule.INDIRECT_CALL,
            f"{opcode} at byte {pos} calls a value that is not a named global "
            f"({describe(target)}); no allowlist can vouch for it",
            pos,
            opcode,
        )
        return Obj(None, args)

    # -- the walk
    def run(self, stream: Stream) -> None:
        """Walk one pickle to its STOP; raises on malformed input."""
        ops = pickletools.genops(stream)  # type: ignore[arg-type]
        handlers = HANDLERS
        base = self.base
        self.at = stream.tell()
        for opcode, arg, pos in ops:
            name = opcode.name
            at = base + (pos or 0)  # the stream has tell(): genops always gives one
            handler = handlers.get(name)
            if handler is None:  # a new opcode this walker does not model: refuse it
                raise Malformed(f"opcode {name} at byte {at} is not modelled by the scanner")
            handler(self, arg, at, stream)
            if self.stopped:
                return
            self.at = stream.tell()  # where the next opcode starts, should it break

    # -- joblib inline arrays
    def _joblib_array(self, wrapper: Obj, stream: Stream, pos: int) -> None:
        itemsize, hasobject, count, aligned = wrapper_layout(wrapper.attrs or {}, pos)
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
            outcome.failed_at = walker.at
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
