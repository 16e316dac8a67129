"""The scanner's edges: input errors, allowlist rules, formats, limits, MLflow checks."""

from __future__ import annotations

import importlib
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from modelci.errors import InputError
from modelci.scanning import Global, Limits, default_allowlist, scan
from modelci.scanning.allowlist import BUILTINS, SKLEARN_HELPERS, sklearn_estimators
from tests.unit.scan_payloads import _Builder, _proto, _stack_global


def _rules(path: Path, **kwargs: object) -> list[str]:
    return [f.rule for f in scan(path, **kwargs).findings]  # type: ignore[arg-type]


# ---------------------------------------------------------------- Global and scan.allow
def test_global_parses_module_colon_name() -> None:
    assert Global.parse("sklearn.tree._tree:Tree") == Global("sklearn.tree._tree", "Tree")
    assert Global.parse(" mypkg.models:Outer.Inner ") == Global("mypkg.models", "Outer.Inner")
    assert str(Global("a.b", "C")) == "a.b:C"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("sklearn.tree._tree.Tree", "'sklearn.tree._tree:Tree'"),
        ("os:", "module:name"),
        ("a b:c", "identifiers"),
    ],
)
def test_global_refuses_ambiguous_or_invalid_text(text: str, hint: str) -> None:
    with pytest.raises(InputError) as info:
        Global.parse(text)
    assert info.value.message.startswith("scan.allow: ")
    assert hint in info.value.message
    assert "\n" not in info.value.message


def test_scan_allow_extends_the_allowlist(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(_proto(4) + _stack_global("mypkg.features", "Scaler") + b")\x81.")
    report = scan(path)
    assert [str(f.global_) for f in report.errors] == ["mypkg.features:Scaler"]
    allowed = scan(path, allow=[Global.parse("mypkg.features:Scaler")])
    assert allowed.passed and allowed.findings == ()
    assert Global("mypkg.features", "Scaler") in allowed.allowed_globals


# ---------------------------------------------------------------- unreadable input
def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        scan(tmp_path / "nope")
    assert str(tmp_path / "nope") in info.value.message
    assert info.value.exit_code == 2
    assert "\n" not in info.value.message


_UNREADABLE = """
import sys
from modelci.errors import InputError
from modelci.scanning import scan
try:
    scan(sys.argv[1])
except InputError as exc:
    print(exc.message)
    sys.exit(exc.exit_code)
sys.exit(0)
"""


@pytest.mark.parametrize("target", ["file", "folder", "file-in-folder"])
def test_permission_denied_is_an_input_error(tmp_path: Path, target: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    inner = folder / "model.pkl"
    inner.write_bytes(pickle.dumps({"a": 1}))
    locked = {"file": inner, "folder": folder, "file-in-folder": inner}[target]
    scanned = inner if target == "file" else folder
    command = [sys.executable, "-c", _UNREADABLE, str(scanned)]
    if os.geteuid() == 0:
        # root reads anything: drop the capabilities that let it, as a CI runner would lack
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    locked.chmod(0)
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        locked.chmod(0o755)
    assert done.returncode == 2, done.stderr
    (line,) = done.stdout.strip().splitlines()
    assert str(locked) in line and "ermission denied" in line


# ---------------------------------------------------------------- never load, never import
def test_scanning_imports_nothing_the_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "imported"
    package = tmp_path / "lib"
    package.mkdir()
    (package / "scan_canary_module.py").write_text(
        f"open({str(canary)!r}, 'w').close()\nclass X: pass\n"
    )
    monkeypatch.syspath_prepend(str(package))
    model = tmp_path / "model.pkl"
    model.write_bytes(_proto(4) + _stack_global("scan_canary_module", "X") + b")\x81.")
    report = scan(model)
    assert [str(f.global_) for f in report.errors] == ["scan_canary_module:X"]
    assert "scan_canary_module" not in sys.modules
    assert not canary.exists()


# ---------------------------------------------------------------- the allowlist
def test_allowlist_holds_no_code_running_entry() -> None:
    # a guard on the reviewed tables, not how the scanner decides (it decides by the list)
    never = {
        "os", "posix", "nt", "subprocess", "sys", "importlib", "pkgutil", "runpy", "code",
        "pdb", "shutil", "pickle", "_pickle", "marshal", "functools", "operator", "_operator",
        "types", "ctypes", "cloudpickle", "dill", "torch", "socket", "webbrowser", "timeit",
        "cProfile", "profile", "tempfile", "io", "_io", "codecs", "inspect",
    }  # fmt: skip
    allowlist = default_allowlist()
    assert not {g for g in allowlist if g.module.split(".")[0] in never}
    assert {g.name for g in BUILTINS} <= {
        "object", "set", "frozenset", "slice", "complex", "bytes", "bytearray", "range",
        "int", "float", "bool", "str", "list", "tuple", "dict",
    }  # fmt: skip
    risky = {"load", "loads", "fromfile", "frombuffer", "genfromtxt", "loadtxt", "memmap_load"}
    assert not {g for g in allowlist if g.module.startswith("numpy") and g.name in risky}


def test_sklearn_estimators_are_classes_at_their_defining_module() -> None:
    from sklearn.utils import all_estimators

    estimators = sklearn_estimators()
    assert len(estimators) == len(all_estimators())
    for g in estimators:
        obj = getattr(importlib.import_module(g.module), g.name)
        assert isinstance(obj, type), g


def test_reviewed_sklearn_helpers_exist_in_installed_sklearn() -> None:
    # a name that no longer exists is stale: remove it from SKLEARN_HELPERS
    missing = []
    for g in sorted(SKLEARN_HELPERS):
        try:
            getattr(importlib.import_module(g.module), g.name)
        except (ImportError, AttributeError):
            missing.append(str(g))
    assert missing == []


# ---------------------------------------------------------------- formats by content
def test_text_files_and_protocol0_lookalikes_pass(tmp_path: Path) -> None:
    (tmp_path / "conda.yaml").write_text("channels:\n- conda-forge\ndependencies:\n- python=3.11\n")
    (tmp_path / "requirements.txt").write_text("scikit-learn==1.9.1\nmlflow==3.17.2\n")
    (tmp_path / "input_example.json").write_text(json.dumps({"columns": ["a"], "data": [[1]]}))
    (tmp_path / "copy.txt").write_text("copy\nthis file\n")
    (tmp_path / "empty.pkl").write_bytes(b"")
    report = scan(tmp_path)
    assert report.findings == ()
    assert {f.path: f.format for f in report.files}["empty.pkl"] == "empty"
    assert {f.format for f in report.files} == {"text", "empty"}


def test_unknown_binary_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(bytes(range(256)) * 4)
    report = scan(tmp_path)
    assert [(f.rule, f.severity) for f in report.findings] == [("unknown-binary", "warning")]
    assert report.passed


def test_damaged_pickle_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04\x95" + b"\xff" * 40)
    report = scan(tmp_path)
    assert [f.rule for f in report.errors] == ["unparseable"]


def test_trailing_bytes_after_a_pickle_are_a_warning(tmp_path: Path) -> None:
    data = pickle.dumps([1, 2], protocol=5)
    (tmp_path / "model.pkl").write_bytes(data + b"\n\n")
    report = scan(tmp_path)
    assert [(f.rule, f.offset) for f in report.findings] == [("trailing-data", len(data))]
    assert report.passed


def test_concatenated_benign_pickles_pass(tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(
        b"".join(pickle.dumps({"i": i}, protocol=p) for i, p in enumerate((0, 2, 5)))
    )
    assert scan(tmp_path).findings == ()


def test_symlinks_inside_are_reported_not_followed(tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(pickle.dumps([1.0]))
    (tmp_path / "alias.pkl").symlink_to("model.pkl")
    (tmp_path / "dir-link").symlink_to(tmp_path)
    report = scan(tmp_path)
    assert sorted((f.file, f.rule, f.severity) for f in report.findings) == [
        ("alias.pkl", "symlink", "warning"),
        ("dir-link", "symlink", "warning"),
    ]
    assert {f.path: f.format for f in report.files}["alias.pkl"] == "symlink"


def test_fifo_is_reported_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert _rules(tmp_path) == ["special-file"]


def test_python_files_warn_and_shadowing_fails(tmp_path: Path) -> None:
    (tmp_path / "features.py").write_text("class Scaler: ...\n")
    (tmp_path / "random.py").write_text("x = 1\n")
    package = tmp_path / "code" / "joblib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (tmp_path / "code" / "helpers.py").write_text("")  # code/ is no package: no shadowing
    (tmp_path / "code" / "hannels:.py").write_text("")  # what "channels:" as a GLOBAL imports
    report = scan(tmp_path)
    found = sorted((f.file, f.rule) for f in report.findings)
    assert found == [
        ("code/hannels:.py", "module-shadowing"),
        ("code/helpers.py", "python-code"),
        ("code/joblib/__init__.py", "module-shadowing"),
        ("features.py", "python-code"),
        ("random.py", "module-shadowing"),
    ]


def test_bytecode_is_code(tmp_path: Path) -> None:
    import importlib.util

    (tmp_path / "mod.cpython-311.pyc").write_bytes(
        importlib.util.MAGIC_NUMBER + b"\0" * 12 + b"\xe3"
    )
    assert _rules(tmp_path) == ["native-code"]


# ---------------------------------------------------------------- containers and limits
def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_nesting_deeper_than_the_limit_is_a_finding(tmp_path: Path) -> None:
    data = pickle.dumps([1])
    for level in range(4):
        data = _zip({f"level{level}.zip": data})
    (tmp_path / "deep.zip").write_bytes(data)
    assert scan(tmp_path).passed
    report = scan(tmp_path, limits=Limits(max_depth=2))
    assert [f.rule for f in report.errors] == ["limit-exceeded"]


def test_too_many_members_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "many.zip").write_bytes(_zip({f"{i}.txt": b"x" for i in range(5)}))
    assert _rules(tmp_path, limits=Limits(max_members=4)) == ["limit-exceeded"]


def test_decompression_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "bomb.z").write_bytes(zlib.compress(b"\x80\x04" + b"N0" * (4 << 20), 9))
    report = scan(tmp_path, limits=Limits(max_decoded_bytes=1 << 20))
    assert [(f.rule, f.container) for f in report.errors] == [("limit-exceeded", "bomb.z > zlib")]


def test_a_claimed_giant_bytes_object_does_not_allocate(tmp_path: Path) -> None:
    (tmp_path / "claim.pkl").write_bytes(_proto(4) + b"\x8e" + struct.pack("<Q", 1 << 50) + b".")
    assert _rules(tmp_path) == ["unparseable"]


def test_encrypted_member_is_unsupported(tmp_path: Path) -> None:
    data = bytearray(_zip({"data.pkl": pickle.dumps([1])}))
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the central directory's "encrypted" flag
    (tmp_path / "model.zip").write_bytes(bytes(data))
    assert _rules(tmp_path) == ["unsupported-format"]


def test_joblib_arrays_are_skipped_by_their_header(tmp_path: Path) -> None:
    import joblib
    import numpy as np

    arrays = {
        "f": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "structured": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8", (2,))]),
        "strings": np.array(["a", "bc"]),
        "objects": np.array(["x", None, 3], dtype=object),
        "empty": np.empty((0, 3)),
        "scalar": np.array(5.0),
    }
    joblib.dump(arrays, tmp_path / "arrays.joblib")
    joblib.dump(arrays, tmp_path / "arrays.joblib.xz", compress=("xz", 1))
    report = scan(tmp_path)
    assert report.findings == ()
    assert {f.format for f in report.files} == {"joblib", "xz+joblib"}


# ---------------------------------------------------------------- MLflow
_MLMODEL = """\
flavors:
  python_function:
    loader_module: {loader}
    model_path: model.pkl
  sklearn:
    pickled_model: model.pkl
    serialization_format: {fmt}
"""


def _mlflow(
    folder: Path, loader: str = "mlflow.sklearn", fmt: str = "cloudpickle", extra: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pkl").write_bytes(pickle.dumps({"coef": [1.0]}))
    (folder / "MLmodel").write_text(_MLMODEL.format(loader=loader, fmt=fmt) + extra)
    return folder


def test_mlflow_folder_with_a_trusted_loader_passes(tmp_path: Path) -> None:
    assert scan(_mlflow(tmp_path / "m")).findings == ()


def test_mlflow_loader_can_be_trusted_explicitly(tmp_path: Path) -> None:
    folder = _mlflow(tmp_path / "m", loader="mypkg.loader")
    assert _rules(folder) == ["mlflow-loader"]
    assert scan(folder, loaders=["mypkg.loader"]).findings == ()


@pytest.mark.parametrize(
    ("fmt", "extra", "rule"),
    [
        ("msgpack", "", "mlflow-format"),
        ("skops", "", "mlflow-format"),
        ("pickle", "  keras:\n    data: model\n", "mlflow-flavor"),
        ("pickle", "flavors: {}\n", "unparseable"),
    ],
)
def test_mlflow_claims_are_checked(tmp_path: Path, fmt: str, extra: str, rule: str) -> None:
    assert rule in _rules(_mlflow(tmp_path / "m", fmt=fmt, extra=extra))


def test_mlflow_missing_model_file(tmp_path: Path) -> None:
    folder = _mlflow(tmp_path / "m")
    (folder / "model.pkl").unlink()
    assert _rules(folder) == ["mlflow-missing", "mlflow-missing"]


def test_report_is_json_ready(tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(_Builder(tmp_path, tmp_path / "s").system_p4())
    data = scan(tmp_path).as_dict()
    text = json.dumps(data)
    assert json.loads(text)["findings"][0]["global"] == "os:system"
    assert data["passed"] is False and data["errors"] == 1


def test_old_joblib_zfile_is_decoded(tmp_path: Path) -> None:
    payload = _Builder(tmp_path, tmp_path / "s").system_p4()
    header = b"ZF" + hex(len(payload)).encode().ljust(19)  # joblib < 0.10
    (tmp_path / "old.pkl").write_bytes(header + zlib.compress(payload))
    (finding,) = scan(tmp_path).findings
    assert (finding.rule, str(finding.global_)) == ("unsafe-global", "os:system")
    assert finding.container == "old.pkl > joblib-zfile"


def test_default_allowlist_includes_installed_estimators() -> None:
    allowlist = default_allowlist()
    assert Global("sklearn.linear_model._logistic", "LogisticRegression") in allowlist
    assert Global("sklearn.pipeline", "Pipeline") in allowlist
    assert Global("sklearn.linear_model", "LogisticRegression") not in allowlist  # re-export
    assert Global("numpy._core.multiarray", "_reconstruct") in allowlist
