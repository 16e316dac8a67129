"""The malicious corpus of the model scanner, built here, shared by its tests and
bench/bench_scan.py.

Every payload that would work creates the sentinel file when loaded (``touch``, ``open``
for writing, ``exec`` of code that does): a test scans them all and checks the sentinel
does not exist. Payloads are assembled by hand from opcode bytes (what real exploit
tooling does) or written by a pickler subclass whose ``reducer_override`` emits them.
Each case names the findings the scanner must report.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import pickletools
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Expect:
    """A finding the scanner must report for a case (``None`` matches anything)."""

    rule: str
    global_: str | None = None
    opcode: str | None = None
    offset: int | None = None
    #: a substring of the finding's container chain
    container: str | None = None
    #: the finding's file, when it is not the case's own path
    file: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    family: str
    #: the file or folder written, relative to the corpus root
    path: str
    expects: tuple[Expect, ...]
    #: Limits(...) overrides the case needs (bombs scanned under a small limit)
    limits: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- opcode assembly
def _u(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def _bu(text: str) -> bytes:
    """BINUNICODE (protocol 1+)."""
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _stack_global(module: str, name: str) -> bytes:
    return _u(module) + _u(name) + b"\x93"


def _ops(data: bytes) -> list[tuple[str, Any, int]]:
    return [(op.name, arg, pos or 0) for op, arg, pos in pickletools.genops(data)]


def _first(data: bytes, *names: str, after: int = -1) -> int:
    """Offset of the first opcode named ``names`` (after byte ``after``)."""
    for name, _, pos in _ops(data):
        if name in names and pos > after:
            return pos
    raise ValueError(f"no {names} in payload")


class Payload:
    """An object that pickles as ``func(*args)`` through ``__reduce__`` (joblib, numpy)."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


class EvilPickler(pickle.Pickler):
    """Writes every ``Payload`` through ``reducer_override``, as attack tooling does."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Payload):
            return obj.func, obj.args
        return NotImplemented


def evil_dumps(obj: Any, protocol: int) -> bytes:
    buffer = io.BytesIO()
    EvilPickler(buffer, protocol=protocol).dump(obj)
    return buffer.getvalue()


# ---------------------------------------------------------------- the corpus
class _Builder:
    def __init__(self, root: Path, sentinel: Path) -> None:
        self.root = root
        self.sentinel = str(sentinel)
        self.cases: list[Case] = []
        self.touch = f"touch {self.sentinel}"
        self.code = f"open({self.sentinel!r}, 'w').close()"

    def add(
        self,
        name: str,
        family: str,
        rel: str,
        data: bytes | None,
        *expects: Expect,
        limits: dict[str, int] | None = None,
    ) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            path.write_bytes(data)
        self.cases.append(Case(name, family, rel, tuple(expects), limits or {}))

    def system_p0(self) -> bytes:
        """os.system(touch) in protocol 0: the classic payload."""
        return _global("os", "system") + b"(S'" + self.touch.encode() + b"'\ntR."

    def system_p4(self) -> bytes:
        return (
            _proto(4)
            + _stack_global("os", "system")
            + _u(self.touch)
            + b"\x85R."  # TUPLE1, REDUCE, STOP
        )


def build_malicious(root: Path, sentinel: Path) -> list[Case]:
    """Write the malicious corpus under ``root``; every working payload targets
    ``sentinel``. Returns the cases with the findings each must produce."""
    import numpy as np

    b = _Builder(root, sentinel)
    ug = "unsafe-global"

    # -- every pickle protocol, written by a pickler subclass (reducer_override)
    for proto in range(6):
        data = evil_dumps(Payload(os.system, b.touch), proto)
        op = "STACK_GLOBAL" if proto >= 4 else "GLOBAL"
        b.add(
            f"reducer-override-protocol-{proto}",
            "protocols",
            f"protocols/p{proto}.pkl",
            data,
            Expect(ug, "posix:system", op, _first(data, op)),
        )

    # -- hand-assembled opcodes: each way of calling an import
    p0 = b.system_p0()
    b.add(
        "global-reduce-p0",
        "opcodes",
        "opcodes/global_reduce.pkl",
        p0,
        Expect(ug, "os:system", "GLOBAL", 0),
    )
    inst = b"(S'" + b.touch.encode() + b"'\nios\nsystem\n."
    b.add(
        "inst-p0",
        "opcodes",
        "opcodes/inst.pkl",
        inst,
        Expect(ug, "os:system", "INST", inst.index(b"ios")),
    )
    obj = (
        b"("
        + _global("os", "system")
        + b"X"
        + struct.pack("<I", len(b.touch))
        + b.touch.encode()
        + b"o."
    )
    b.add("obj-p1", "opcodes", "opcodes/obj.pkl", obj, Expect(ug, "os:system", "GLOBAL", 1))
    newobj = (
        _proto(2)
        + _global("subprocess", "Popen")
        + b"(]("
        + _bu("touch")
        + _bu(b.sentinel)
        + b"lt\x81."
    )
    b.add(
        "newobj-popen",
        "opcodes",
        "opcodes/newobj.pkl",
        newobj,
        Expect(ug, "subprocess:Popen", "GLOBAL", 2),
    )
    newobj_ex = _proto(4) + _stack_global("subprocess", "check_call") + b")}\x92."
    b.add(
        "newobj-ex",
        "opcodes",
        "opcodes/newobj_ex.pkl",
        newobj_ex,
        Expect(ug, "subprocess:check_call", "STACK_GLOBAL", _first(newobj_ex, "STACK_GLOBAL")),
    )
    p4 = b.system_p4()
    b.add(
        "stack-global-p4",
        "opcodes",
        "opcodes/stack_global.pkl",
        p4,
        Expect(ug, "os:system", "STACK_GLOBAL", _first(p4, "STACK_GLOBAL")),
    )
    framed = _proto(5) + b"\x95" + struct.pack("<Q", len(p4) - 2) + p4[2:]
    b.add(
        "framed-p5",
        "opcodes",
        "opcodes/framed.pkl",
        framed,
        Expect(ug, "os:system", "STACK_GLOBAL", _first(framed, "STACK_GLOBAL")),
    )

    # -- builtins
    for name, args in (("eval", b.code), ("exec", b.code)):
        data = _proto(2) + _global("__builtin__", name) + _bu(args) + b"\x85R."
        b.add(
            f"builtins-{name}-py2-name",
            "builtins",
            f"builtins/{name}.pkl",
            data,
            Expect(ug, f"builtins:{name}", "GLOBAL", 2),
        )
    data = _proto(3) + _global("builtins", "open") + _bu(b.sentinel) + _bu("w") + b"\x86R."
    b.add(
        "builtins-open",
        "builtins",
        "builtins/open.pkl",
        data,
        Expect(ug, "builtins:open", "GLOBAL", 2),
    )
    data = (
        _proto(4) + _stack_global("builtins", "getattr")
        + _stack_global("builtins", "__import__") + _u("os") + b"\x85R"
        + _u("system") + b"\x86R" + _u(b.touch) + b"\x85R."
    )  # fmt: skip
    b.add(
        "builtins-import-getattr",
        "builtins",
        "builtins/getattr.pkl",
        data,
        Expect(ug, "builtins:getattr", "STACK_GLOBAL"),
        Expect(ug, "builtins:__import__"),
        Expect("indirect-call", opcode="REDUCE", offset=len(data) - 2),
    )
    data = (
        _proto(2)
        + _global("__builtin__", "reduce")
        + _global("__builtin__", "exec")
        + b"("
        + _bu(b.code)
        + b"}l\x86R."
    )
    b.add(
        "py2-reduce-maps-to-functools",
        "builtins",
        "builtins/reduce.pkl",
        data,
        Expect(ug, "functools:reduce", "GLOBAL", 2),
        Expect(ug, "builtins:exec"),
    )

    # -- indirection: resolvers, importlib, operator, functools, sys.modules
    data = (
        _proto(4)
        + _stack_global("pkgutil", "resolve_name")
        + _u("os:system")
        + b"\x85R"
        + _u(b.touch)
        + b"\x85R."
    )
    b.add(
        "pkgutil-resolve-name",
        "indirection",
        "indirection/pkgutil.pkl",
        data,
        Expect(ug, "pkgutil:resolve_name", "STACK_GLOBAL"),
        Expect("indirect-call", opcode="REDUCE"),
    )
    data = (
        _proto(4) + _stack_global("_operator", "methodcaller")
        + _u("system") + _u(b.touch) + b"\x86R"
        + _stack_global("importlib", "import_module") + _u("os") + b"\x85R\x85R."
    )  # fmt: skip
    b.add(
        "operator-methodcaller",
        "indirection",
        "indirection/methodcaller.pkl",
        data,
        Expect(ug, "_operator:methodcaller"),
        Expect(ug, "importlib:import_module"),
        Expect("indirect-call"),
    )
    data = (
        _proto(4) + _stack_global("operator", "attrgetter") + _u("system") + b"\x85R"
        + _stack_global("operator", "itemgetter") + _u("os") + b"\x85R"
        + _stack_global("sys", "modules") + b"\x85R\x85R" + _u(b.touch) + b"\x85R."
    )  # fmt: skip
    b.add(
        "operator-sys-modules",
        "indirection",
        "indirection/sys_modules.pkl",
        data,
        Expect(ug, "operator:attrgetter"),
        Expect(ug, "operator:itemgetter"),
        Expect(ug, "sys:modules"),
        Expect("indirect-call"),
    )
    data = (
        _proto(4)
        + _stack_global("functools", "partial")
        + _stack_global("os", "system")
        + _u(b.touch)
        + b"\x86R)R."
    )
    b.add(
        "functools-partial",
        "indirection",
        "indirection/partial.pkl",
        data,
        Expect(ug, "functools:partial"),
        Expect(ug, "os:system"),
        Expect("indirect-call"),
    )
    data = (
        _proto(4)
        + _stack_global("sklearn.linear_model._ridge", "Ridge.__init__.__globals__")
        + b"."
    )
    b.add(
        "dotted-qualname-walk",
        "indirection",
        "indirection/dotted.pkl",
        data,
        Expect(ug, "sklearn.linear_model._ridge:Ridge.__init__.__globals__", "STACK_GLOBAL"),
    )

    # -- modules that run code or commands
    runners = (
        ("posix", "system", b.touch),
        ("nt", "system", b.touch),
        ("subprocess", "getoutput", b.touch),
        ("runpy", "_run_code", b.code),
        ("timeit", "timeit", b.code),
        ("cProfile", "run", b.code),
        ("pdb", "run", b.code),
        ("code", "InteractiveInterpreter", b.code),
    )
    for module, name, arg in runners:
        data = _proto(2) + _global(module, name) + _bu(arg) + b"\x85R."
        b.add(
            f"{module}-{name}",
            "code-execution",
            f"execution/{module}_{name}.pkl",
            data,
            Expect(ug, f"{module}:{name}", "GLOBAL", 2),
        )
    data = (
        _proto(3)
        + _global("shutil", "copyfile")
        + _bu("/etc/hostname")
        + _bu(b.sentinel)
        + b"\x86R."
    )
    b.add(
        "shutil-copyfile",
        "code-execution",
        "execution/shutil.pkl",
        data,
        Expect(ug, "shutil:copyfile", "GLOBAL", 2),
    )

    # -- loaders that unpickle again
    inner = b.system_p4()
    for module in ("pickle", "_pickle"):
        data = (
            _proto(4)
            + _stack_global(module, "loads")
            + b"C"
            + bytes([len(inner)])
            + inner
            + b"\x85R."
        )
        b.add(
            f"nested-{module}-loads",
            "nested-loaders",
            f"loaders/{module}_loads.pkl",
            data,
            Expect(ug, f"{module}:loads", "STACK_GLOBAL"),
            Expect(ug, "os:system", "STACK_GLOBAL", container="bytes at byte"),
            Expect("nested-pickle"),
        )
    evil_npy = root / "loaders" / "evil_object.npy"
    evil_npy.parent.mkdir(parents=True, exist_ok=True)
    np.save(evil_npy, np.array([Payload(os.system, b.touch)], dtype=object), allow_pickle=True)
    data = _proto(3) + _global("numpy", "load") + _bu(str(evil_npy)) + b"NI01\n\x87R."
    b.add(
        "numpy-load-allow-pickle",
        "nested-loaders",
        "loaders/numpy_load.pkl",
        data,
        Expect(ug, "numpy:load", "GLOBAL", 2),
    )
    b.cases.append(
        Case(
            "npy-object-array",
            "nested-loaders",
            "loaders/evil_object.npy",
            (Expect(ug, "posix:system", container="object data"), Expect("nested-pickle")),
        )
    )
    for module, name in (("torch", "load"), ("joblib", "load"), ("dill", "loads")):
        data = _proto(4) + _stack_global(module, name) + _u(str(evil_npy)) + b"\x85R."
        b.add(
            f"{module}-{name}",
            "nested-loaders",
            f"loaders/{module}.pkl",
            data,
            Expect(ug, f"{module}:{name}", "STACK_GLOBAL"),
        )

    # -- memo tricks
    data = (
        _proto(4) + _u("os") + b"q\x07" + _u("system") + b"q\x08"
        + b"h\x07h\x08\x93" + _u(b.touch) + b"\x85R."
    )  # fmt: skip
    b.add(
        "memo-put-get-stack-global",
        "memo",
        "memo/put_get.pkl",
        data,
        Expect(ug, "os:system", "STACK_GLOBAL", _first(data, "STACK_GLOBAL")),
    )
    data = (
        _proto(4) + _u("numpy") + b"q\x01" + b"0"  # memo[1] = "numpy"; POP
        + _u("os") + b"\x94" + b"0"  # MEMOIZE stores at len(memo) == 1: memo[1] = "os"
        + b"h\x01" + _u("system") + b"\x93" + _u(b.touch) + b"\x85R."
    )  # fmt: skip
    b.add(
        "memoize-overwrites-put",
        "memo",
        "memo/memoize_overwrite.pkl",
        data,
        Expect(ug, "os:system", "STACK_GLOBAL", _first(data, "STACK_GLOBAL")),
    )
    data = (
        _proto(4) + _stack_global("builtins", "str") + _u("os") + b"\x85R"
        + _u("system") + b"\x93" + _u(b.touch) + b"\x85R."
    )  # fmt: skip
    b.add(
        "computed-module-name",
        "memo",
        "memo/computed.pkl",
        data,
        Expect(
            "unresolved-global",
            opcode="STACK_GLOBAL",
            offset=_first(data, "STACK_GLOBAL", after=20),
        ),
    )
    data = (
        _proto(4) + _stack_global("sklearn.linear_model._ridge", "Ridge") + b")\x81"
        + b"}" + _u("__setstate__") + _stack_global("os", "system") + b"sb"
        + _u(b.touch) + b"b."
    )  # fmt: skip
    b.add(
        "build-setstate-trick",
        "memo",
        "memo/build_setstate.pkl",
        data,
        Expect("build-dunder", opcode="BUILD", offset=_first(data, "BUILD")),
        Expect(ug, "os:system"),
    )

    # -- extension registry and persistent ids
    for name, op in (
        ("EXT1", b"\x82\x01"),
        ("EXT2", b"\x83\x01\x02"),
        ("EXT4", b"\x84\x01\x02\x03\x04"),
    ):
        data = _proto(2) + op + _bu(b.touch) + b"\x85R."
        b.add(
            f"extension-{name}",
            "extension",
            f"extension/{name}.pkl",
            data,
            Expect("extension-code", opcode=name, offset=2),
        )
    data = _proto(2) + b"(" + _bu("storage") + b"t" + b"Q" + b"."
    b.add(
        "persistent-id",
        "extension",
        "extension/binpersid.pkl",
        data,
        Expect("persistent-id", opcode="BINPERSID"),
    )

    data = (
        _proto(4) + _stack_global("sklearn.linear_model._ridge", "Ridge")
        + b"N}" + _u("fit") + _stack_global("numpy", "log") + b"s\x86b."
    )  # fmt: skip
    b.add(
        "build-on-a-class",
        "memo",
        "memo/build_class.pkl",
        data,
        Expect("build-global", opcode="BUILD", offset=_first(data, "BUILD")),
    )

    # -- several pickles in one file, broken files
    benign = pickle.dumps({"weights": [1.0, 2.0]}, protocol=4)
    data = benign + p4
    b.add(
        "second-pickle",
        "streams",
        "streams/two_pickles.pkl",
        data,
        Expect(ug, "os:system", "STACK_GLOBAL", len(benign) + _first(p4, "STACK_GLOBAL")),
    )
    truncated = p4[:-3]
    b.add(
        "truncated",
        "streams",
        "streams/truncated.pkl",
        truncated,
        Expect(ug, "os:system", "STACK_GLOBAL"),
        Expect("unparseable"),
    )
    zip_tail = io.BytesIO()
    with zipfile.ZipFile(zip_tail, "w") as archive:
        archive.writestr("data.pkl", p4)
    b.add(
        "pickle-zip-polyglot",
        "streams",
        "streams/polyglot.pkl",
        benign + zip_tail.getvalue(),
        Expect("polyglot"),
        Expect(ug, "os:system", container="zip view"),
    )

    # pickletools reads INT in decimal, the C unpickler in any base: pickle.load runs this
    b.add(
        "int-base-divergence",
        "streams",
        "streams/hex_int.txt",
        b"I0x1\n0" + p0,
        Expect("unparseable"),
    )

    # -- wrong extensions (content decides)
    for rel in ("ext/model.json", "ext/README.md", "ext/weights.npy", "ext/conda.yaml"):
        b.add(
            f"extension-{Path(rel).name}",
            "wrong-extension",
            rel,
            p0,
            Expect(ug, "os:system", "GLOBAL", 0),
        )

    # -- compression around plain pickles
    wrappers: dict[str, Callable[[bytes], bytes]] = {
        "gzip": lambda d: gzip.compress(d),
        "bz2": bz2.compress,
        "xz": lzma.compress,
        "zlib": zlib.compress,
    }
    for name, wrap in wrappers.items():
        b.add(
            f"{name}-wrapped-pickle",
            "compression",
            f"compression/model.{name}.txt",
            wrap(p4),
            Expect(ug, "os:system", "STACK_GLOBAL", _first(p4, "STACK_GLOBAL"), container=name),
        )
    odd = lzma.compress(
        p4, format=lzma.FORMAT_ALONE, filters=[{"id": lzma.FILTER_LZMA1, "dict_size": 0x10100}]
    )
    b.add(
        "lzma-odd-dictionary-size",
        "compression",
        "compression/odd.bin",
        odd,
        Expect(ug, "os:system", container="lzma"),
    )
    b.add(
        "gzip-in-zlib",
        "compression",
        "compression/double.bin",
        zlib.compress(gzip.compress(p4)),
        Expect(ug, "os:system", container="zlib > gzip"),
    )
    claim = _proto(4) + b"\x8e" + struct.pack("<Q", 1 << 40)
    b.add(
        "claimed-size-bomb",
        "compression",
        "compression/claim.pkl.gz",
        gzip.compress(claim),
        Expect("limit-exceeded", container="gzip"),
    )
    zeros = _proto(4) + b"\x8e" + struct.pack("<Q", 8 << 20) + b"\0" * (8 << 20) + b"."
    b.add(
        "ratio-bomb",
        "compression",
        "compression/bomb.joblib",
        zlib.compress(zeros, 9),
        Expect("limit-exceeded", container="zlib"),
        limits={"max_decoded_bytes": 1 << 20},
    )

    # -- joblib: plain, each compressor, object arrays, the pickle.load reading
    import joblib

    evil = {"coef": np.arange(4.0), "hook": Payload(os.system, b.touch)}
    for compressor in ("", "zlib", "gzip", "bz2", "lzma", "xz", "lz4"):
        buffer = io.BytesIO()
        joblib.dump(evil, buffer, compress=(compressor, 3) if compressor else 0)
        rel = f"joblib/model{'-' + compressor if compressor else ''}.joblib"
        b.add(
            f"joblib-{compressor or 'plain'}",
            "joblib",
            rel,
            buffer.getvalue(),
            Expect(ug, "posix:system", container=compressor or None),
        )
    buffer = io.BytesIO()
    joblib.dump({"classes": np.array([Payload(os.system, b.touch)], dtype=object)}, buffer)
    b.add(
        "joblib-object-array",
        "joblib",
        "joblib/object_array.joblib",
        buffer.getvalue(),
        Expect(ug, "posix:system", container="object array at byte"),
    )
    short = p0 if len(p0) <= 99 else _global("os", "system") + b"(S'id'\ntR."
    b.add(
        "joblib-pickle-reading",
        "joblib",
        "joblib/ambiguous.joblib",
        _joblib_ambiguous(short),
        Expect(ug, "os:system", "GLOBAL", container="pickle.load reading"),
    )

    elsize, offset = _joblib_elsize_trick(b.touch)
    b.add(
        "joblib-dtype-elsize",
        "joblib",
        "joblib/elsize.joblib",
        elsize,
        Expect(ug, "os:system", "STACK_GLOBAL", offset),
    )
    data = (
        _proto(4) + _stack_global("sklearn.neighbors._kd_tree", "newObj")
        + _stack_global("joblib.numpy_pickle", "NumpyArrayWrapper") + b"\x85R."
    )  # fmt: skip
    b.add(
        "joblib-wrapper-through-newobj",
        "joblib",
        "joblib/wrapper_newobj.joblib",
        data,
        Expect("joblib-ambiguous", opcode="REDUCE", offset=_first(data, "REDUCE")),
    )

    # -- zip, npz, skops, nesting
    b.add(
        "zip-member",
        "archives",
        "archives/model.zip",
        _zip({"data.pkl": p4}),
        Expect(ug, "os:system", container="data.pkl"),
    )
    inner_zip = _zip({"deep/data.pkl": p4})
    b.add(
        "zip-in-zip",
        "archives",
        "archives/nested.zip",
        _zip({"inner.zip": inner_zip}),
        Expect(ug, "os:system", container="inner.zip > deep/data.pkl"),
    )
    b.add(
        "zip-wrong-extension",
        "archives",
        "archives/notes.txt",
        _zip({"x/weights": p0}),
        Expect(ug, "os:system", container="x/weights"),
    )
    npz = io.BytesIO()
    np.savez(npz, w=np.arange(3.0), evil=np.array([Payload(os.system, b.touch)], dtype=object))
    b.add(
        "npz-object-array",
        "archives",
        "archives/arrays.npz",
        npz.getvalue(),
        Expect(ug, "posix:system", container="evil.npy"),
        Expect("nested-pickle"),
    )
    torchlike = (
        _proto(2)
        + _global("torch._utils", "_rebuild_tensor_v2")
        + b"("
        + _bu("storage")
        + b"tQ\x85R."
    )
    b.add(
        "torch-like-zip",
        "archives",
        "archives/model.pt",
        _zip({"archive/data.pkl": torchlike, "archive/version": b"3\n"}),
        Expect(ug, "torch._utils:_rebuild_tensor_v2"),
        Expect("persistent-id"),
    )
    skops_model = _skops_model()
    b.add(
        "skops-schema-global",
        "skops",
        "skops/schema.skops",
        _skops_with_schema(skops_model),
        Expect(ug, "posix:system", container="schema.json"),
    )
    b.add(
        "skops-npy-pickle",
        "skops",
        "skops/npy.skops",
        _skops_with_npy_pickle(skops_model, b.touch),
        Expect(ug, "posix:system", container="object data"),
        Expect("nested-pickle"),
    )

    # -- cloudpickle by value
    import cloudpickle  # type: ignore[import-untyped]

    b.add(
        "cloudpickle-lambda",
        "cloudpickle",
        "cloudpickle/lambda.pkl",
        cloudpickle.dumps(lambda: open(b.sentinel, "w")),  # noqa: SIM115
        Expect(ug, "cloudpickle.cloudpickle:_make_function"),
    )
    from sklearn.preprocessing import FunctionTransformer

    b.add(
        "cloudpickle-function-transformer",
        "cloudpickle",
        "cloudpickle/transformer.pkl",
        cloudpickle.dumps(FunctionTransformer(func=lambda x: x + 1)),
        Expect(ug, "cloudpickle.cloudpickle:_make_function"),
    )

    # -- files that are code
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 57
    b.add("native-library", "files", "files/weights.bin", elf, Expect("native-code"))
    (root / "files" / "shadow").mkdir(parents=True, exist_ok=True)
    b.add(
        "shadowing-module",
        "files",
        "files/shadow/numpy.py",
        b"import os\n",
        Expect("module-shadowing"),
    )
    link = root / "links" / "model.pkl"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to("/etc/hostname")
    b.add("symlink-outside", "files", "links", None, Expect("symlink-outside", file="model.pkl"))

    # -- MLflow folders
    _mlflow_cases(b, p4)
    return b.cases


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _joblib_ambiguous(payload: bytes) -> bytes:
    """A joblib file whose padding-length byte is ``c``: joblib skips 99 bytes there, while
    pickle.load reads them as opcodes (``payload`` must fit)."""
    import joblib
    import numpy as np

    buffer = io.BytesIO()
    joblib.dump(np.arange(4.0), buffer)
    data = buffer.getvalue()
    builds = [pos for name, _, pos in _iter_until_build(data)]
    cut = builds[-1] + 1  # the byte after the wrapper's BUILD: the padding length
    padding = data[cut]
    rest = data[cut + 1 + padding :]
    pad = (payload + b"\0" * 99)[:99]
    if not payload.startswith(b"c") or len(payload) > 99:
        raise ValueError("the payload must start with GLOBAL and fit 99 bytes")
    return data[:cut] + b"\x63" + pad[1:] + b"\0" + rest


def _joblib_elsize_trick(command: str) -> tuple[bytes, int]:
    """A joblib file whose float64 dtype claims a 1000-byte item size: numpy ignores it (so
    does joblib, reading 8 bytes), and opcodes follow the 8 bytes. Returns the bytes and
    the offset of their STACK_GLOBAL."""
    import joblib
    import numpy as np

    buffer = io.BytesIO()
    joblib.dump(np.arange(1.0), buffer)
    data = buffer.getvalue()
    sizes = b"J\xff\xff\xff\xffJ\xff\xff\xff\xff"  # elsize -1, alignment -1
    at = data.index(sizes)
    data = data[:at] + b"J" + struct.pack("<i", 1000) + data[at + 5 :]
    if not data.endswith(b"."):
        raise ValueError("joblib's stream no longer ends with STOP")
    head = data[:-1] + b"0"  # POP the array joblib put on the stack
    tail = _stack_global("os", "system") + _u(command) + b"\x85R."
    return head + tail, len(head) + len(_u("os")) + len(_u("system"))


def _iter_until_build(data: bytes) -> list[tuple[str, Any, int]]:
    """Opcodes up to and including the wrapper's BUILD (genops cannot go past it)."""
    seen: list[tuple[str, Any, int]] = []
    try:
        for op, arg, pos in pickletools.genops(data):
            if op.name == "BUILD":
                seen.append((op.name, arg, pos or 0))
    except ValueError:
        pass
    return seen


def _skops_model() -> bytes:
    import skops.io
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    data: bytes = skops.io.dumps(LogisticRegression(max_iter=500).fit(x, y))
    return data


def _rewrite_zip(data: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    return _zip({name: change(name, source.read(name)) for name in source.namelist()})


def _skops_with_schema(model: bytes) -> bytes:
    def change(name: str, data: bytes) -> bytes:
        if name != "schema.json":
            return data
        schema = json.loads(data)
        schema["content"]["content"]["solver"] = {
            "__class__": "system",
            "__module__": "posix",
            "__loader__": "FunctionNode",
            "content": {"module_path": "posix", "function": "system"},
        }
        return json.dumps(schema).encode()

    return _rewrite_zip(model, change)


def _skops_with_npy_pickle(model: bytes, command: str) -> bytes:
    import numpy as np

    evil = io.BytesIO()
    np.save(evil, np.array([Payload(os.system, command)], dtype=object), allow_pickle=True)
    first = sorted(n for n in zipfile.ZipFile(io.BytesIO(model)).namelist() if n.endswith(".npy"))[
        0
    ]
    return _rewrite_zip(model, lambda name, data: evil.getvalue() if name == first else data)


_MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    env:
      virtualenv: python_env.yaml
    loader_module: {loader}
    model_path: {model}
    predict_fn: predict
    python_version: 3.11.2
  sklearn:
    code: null
    pickled_model: {model}
    serialization_format: {fmt}
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
"""


def _mlflow_folder(root: Path, rel: str, files: dict[str, bytes], **mlmodel: str) -> None:
    folder = root / rel
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "MLmodel").write_text(_MLMODEL.format(**mlmodel))
    (folder / "python_env.yaml").write_text(
        "python: 3.11.2\ndependencies:\n- -r requirements.txt\n"
    )
    (folder / "requirements.txt").write_text("mlflow==3.17.2\nscikit-learn==1.9.1\n")


def _mlflow_cases(b: _Builder, payload: bytes) -> None:
    model = _skops_model()
    _mlflow_folder(
        b.root,
        "mlflow/claims-skops",
        {"model.skops": payload},
        loader="mlflow.sklearn",
        model="model.skops",
        fmt="skops",
    )
    b.add(
        "mlflow-claims-skops-is-pickle",
        "mlflow",
        "mlflow/claims-skops",
        None,
        Expect("mlflow-format", file="MLmodel"),
        Expect("unsafe-global", "os:system", file="model.skops"),
    )
    _mlflow_folder(
        b.root,
        "mlflow/unknown-loader",
        {"model.skops": model},
        loader="evil_loader",
        model="model.skops",
        fmt="skops",
    )
    b.add(
        "mlflow-unknown-loader",
        "mlflow",
        "mlflow/unknown-loader",
        None,
        Expect("mlflow-loader", file="MLmodel"),
    )
    _mlflow_folder(
        b.root,
        "mlflow/outside",
        {"model.skops": model},
        loader="mlflow.sklearn",
        model="../../protocols/p4.pkl",
        fmt="pickle",
    )
    b.add(
        "mlflow-model-outside-folder",
        "mlflow",
        "mlflow/outside",
        None,
        Expect("mlflow-missing", file="MLmodel"),
    )
    _mlflow_folder(
        b.root,
        "mlflow/claims-pickle",
        {"model.pkl": model},
        loader="mlflow.sklearn",
        model="model.pkl",
        fmt="pickle",
    )
    b.add(
        "mlflow-claims-pickle-is-skops",
        "mlflow",
        "mlflow/claims-pickle",
        None,
        Expect("mlflow-format", file="MLmodel"),
    )
    _mlflow_folder(
        b.root,
        "mlflow/code-shadow",
        {"model.skops": model},
        loader="mlflow.sklearn",
        model="model.skops",
        fmt="skops",
    )
    code = b.root / "mlflow/code-shadow/code/sklearn"
    code.mkdir(parents=True, exist_ok=True)
    (code / "__init__.py").write_text(f"import os\nos.system({b.touch!r})\n")
    b.add(
        "mlflow-code-shadows-sklearn",
        "mlflow",
        "mlflow/code-shadow",
        None,
        Expect("module-shadowing", file="code/sklearn/__init__.py"),
    )
