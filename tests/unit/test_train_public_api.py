"""No private MLflow or CPython name anywhere in src/: modelci follows MLflow's releases
through its public API, and exits and imports as any Python program does.

The check reads the code without comments and string literals (the scanner's tables name
private globals as data), and keeps the strings handed to ``getattr`` and ``import_module``,
the usual ways round an attribute check.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

_STDLIB = "|".join(sorted((re.escape(m) for m in sys.stdlib_module_names), key=len, reverse=True))
_DOT = r"\s*\.\s*"
_PRIVATE = r"_(?!_)\w*"  # one leading underscore: dunders (__version__, __file__) are public
_IMPORTED = r"\s+import\s+(?:\(\s*)?(?:\w+(?:\s+as\s+\w+)?\s*,\s*)*"
#: what may not appear in code (comments and strings removed)
IN_CODE = [
    # mlflow.tracking._tracking_service, import mlflow._x, mlflow.store._y.z
    re.compile(rf"(?<![\w.])mlflow(?:{_DOT}\w+)*{_DOT}{_PRIVATE}"),
    # from mlflow.utils.environment import _PythonEnv (also inside parentheses)
    re.compile(rf"(?<![\w.])from\s+mlflow(?:{_DOT}\w+)*{_IMPORTED}{_PRIVATE}"),
    # threading._shutdown, atexit._run_exitfuncs, sys._getframe, os._exit
    re.compile(rf"(?<![\w.])(?:{_STDLIB}){_DOT}{_PRIVATE}"),
    # from threading import _shutdown
    re.compile(rf"(?<![\w.])from\s+(?:{_STDLIB}){_IMPORTED}{_PRIVATE}"),
]
#: what may not appear in code with its strings (comments removed)
WITH_STRINGS = [
    # getattr(threading, "_shutdown", None), hasattr(mlflow.sklearn, "_load_pyfunc")
    re.compile(
        rf"\b(?:getattr|setattr|hasattr|delattr)\s*\(\s*(?:mlflow(?:{_DOT}\w+)*|{_STDLIB})\s*,"
        rf"\s*[rbuf]*['\"]{_PRIVATE}['\"]"
    ),
    # importlib.import_module("mlflow.tracking._tracking_service"), __import__("threading")...
    re.compile(r"\b(?:import_module|__import__)\s*\(\s*[rbuf]*['\"]mlflow(?:\.\w+)*\._(?!_)"),
]


def _texts(source: str) -> tuple[str, str]:
    """The code without comments and strings, and the code without comments."""
    strings = {tokenize.STRING}
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END"):  # Python 3.12+
        strings.add(getattr(tokenize, name, tokenize.STRING))
    code: list[str] = []
    with_strings: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            continue
        code.append('""' if token.type in strings else token.string)
        with_strings.append(token.string)
    return " ".join(code), " ".join(with_strings)


def private_names(source: str) -> list[str]:
    code, with_strings = _texts(source)
    found = [m.group(0) for pattern in IN_CODE for m in pattern.finditer(code)]
    found += [m.group(0) for pattern in WITH_STRINGS for m in pattern.finditer(with_strings)]
    return found


@pytest.mark.parametrize(
    "line",
    [
        "from mlflow.tracking._tracking_service import utils",
        "saved = mlflow.tracking._tracking_service.utils._tracking_uri",
        "import mlflow.store._unity_catalog",
        "from mlflow.utils.environment import _process_pip_requirements, _PythonEnv",
        "from mlflow.models.utils import (\n    Model,\n    _save_example,\n)",
        "threading._shutdown()",
        "atexit._run_exitfuncs()",
        "frame = sys._getframe(1)",
        "os._exit(code)",
        "from threading import _shutdown",
        "join = getattr(threading, '_shutdown', None)",
        'module = importlib.import_module("mlflow.tracking._model_registry")',
    ],
)
def test_the_check_finds_private_names(line: str) -> None:
    assert private_names(line + "\n"), line


@pytest.mark.parametrize(
    "line",
    [
        "import mlflow.sklearn",
        "from mlflow import MlflowClient",
        "version = mlflow.__version__",
        "path = Path(__file__)",
        "# mlflow.sklearn._load_pyfunc in a comment",
        'DENIED = {"os._exit", "mlflow.sklearn._load_pyfunc"}  # data, not a call',
        "validate = getattr(estimator, '_validate_params', None)",
        "self._client = client",
        "gc.disable()",
    ],
)
def test_public_names_and_data_pass(line: str) -> None:
    assert private_names(line + "\n") == [], line


def test_no_private_mlflow_or_cpython_name_in_src() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50
    found = {
        str(path.relative_to(SRC)): names
        for path in files
        if (names := private_names(path.read_text(encoding="utf-8")))
    }
    assert found == {}
