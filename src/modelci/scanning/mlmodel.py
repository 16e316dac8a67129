"""MLflow model folders: what ``MLmodel`` tells MLflow to import and load.

Every file of the folder is scanned by content anyway; this adds what only MLmodel says:
which module MLflow imports to load the model (``python_function.loader_module``), which
file it unpickles and how (``sklearn.pickled_model``, ``serialization_format``), and which
folder it puts on ``sys.path`` (``code``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from modelci.scanning.rules import Rule
from modelci.scanning.session import Session
from modelci.scanning.where import Where
from modelci.yamlutil import UniqueKeyLoader

MLMODEL = "MLmodel"
_MAX_MLMODEL = 4 * 1024 * 1024

#: what the model file must be, by the sklearn flavor's serialization_format
_FORMATS = {"skops": ("skops",), "pickle": ("pickle",), "cloudpickle": ("pickle",)}
_KNOWN_FLAVORS = frozenset({"python_function", "sklearn"})


def check_mlmodel(
    session: Session,
    root: Path,
    rel: str,
    formats: Mapping[str, str],
    loaders: frozenset[str],
) -> None:
    """Check one MLmodel file (``rel``, relative to ``root``) against the scanned files."""
    where = Where(rel)
    path = root / rel
    try:
        if path.stat().st_size > _MAX_MLMODEL:
            session.report(where, Rule.UNPARSEABLE, "MLmodel is larger than 4 MiB")
            return
        data = yaml.load(path.read_text("utf-8"), Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        session.report(where, Rule.UNPARSEABLE, f"MLmodel is not valid YAML ({first})")
        return
    flavors = data.get("flavors") if isinstance(data, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        session.report(where, Rule.UNPARSEABLE, "MLmodel has no flavors mapping")
        return
    folder = PurePosixPath(rel).parent
    for name, conf in flavors.items():
        if not isinstance(conf, dict):
            session.report(where, Rule.UNPARSEABLE, f"MLmodel flavor {name!r} is not a mapping")
            continue
        if name == "python_function":
            _python_function(session, where, folder, conf, formats, loaders)
        elif name == "sklearn":
            _sklearn(session, where, folder, conf, formats)
        else:
            session.report(
                where,
                Rule.MLFLOW_FLAVOR,
                f"MLmodel flavor {name!r}: the scanner does not model how it loads; its "
                "files were scanned by content only",
            )
        code = conf.get("code")
        if code is not None:
            _existing(session, where, folder, code, f"{name}.code", formats, directory=root / rel)


def _python_function(
    session: Session,
    where: Where,
    folder: PurePosixPath,
    conf: dict[str, Any],
    formats: Mapping[str, str],
    loaders: frozenset[str],
) -> None:
    loader = conf.get("loader_module")
    if loader not in loaders:
        session.report(
            where,
            Rule.MLFLOW_LOADER,
            f"python_function.loader_module is {loader!r}: MLflow imports it and calls its "
            f"_load_pyfunc to load the model; trusted loaders are {', '.join(sorted(loaders))}",
        )
    for key in ("model_path", "data"):
        if conf.get(key) is not None:
            _existing(session, where, folder, conf[key], f"python_function.{key}", formats)


def _sklearn(
    session: Session,
    where: Where,
    folder: PurePosixPath,
    conf: dict[str, Any],
    formats: Mapping[str, str],
) -> None:
    claimed = conf.get("serialization_format", "pickle")  # MLflow's own default
    if claimed not in _FORMATS:
        session.report(
            where,
            Rule.MLFLOW_FORMAT,
            f"sklearn.serialization_format is {claimed!r}, which MLflow does not know "
            "(skops, pickle, cloudpickle)",
        )
        return
    model = conf.get("pickled_model")
    if model is None:
        session.report(where, Rule.MLFLOW_MISSING, "the sklearn flavor names no pickled_model")
        return
    rel = _existing(session, where, folder, model, "sklearn.pickled_model", formats)
    if rel is None:
        return
    actual = formats[rel]
    if actual not in _FORMATS[claimed]:
        session.report(
            where,
            Rule.MLFLOW_FORMAT,
            f"sklearn.serialization_format says {claimed} but {rel} is {actual}: MLflow "
            f"would load it as {claimed}",
        )


def _existing(
    session: Session,
    where: Where,
    folder: PurePosixPath,
    value: Any,
    key: str,
    formats: Mapping[str, str],
    *,
    directory: Path | None = None,
) -> str | None:
    """The scanned path ``value`` names (relative to the MLmodel's folder), or None after
    reporting why it is not one. ``directory``: the MLmodel file, when ``value`` names a
    folder (MLflow puts it on sys.path)."""
    if not isinstance(value, str) or not value:
        session.report(where, Rule.MLFLOW_MISSING, f"{key} is not a path: {value!r}")
        return None
    parts = PurePosixPath(value)
    resolved: list[str] = list(folder.parts)
    escaped = parts.is_absolute()
    for part in parts.parts:
        if part == "..":
            if not resolved:
                escaped = True
                break
            resolved.pop()
        elif part != ".":
            resolved.append(part)
    rel = "/".join(resolved)
    if escaped or not rel.startswith(str(folder).rstrip(".").rstrip("/")):
        session.report(
            where,
            Rule.MLFLOW_MISSING,
            f"{key} {value!r} points outside the model folder: MLflow would load what the "
            "scan never saw",
        )
        return None
    if directory is not None:
        target = directory.parent / value
        if not target.is_dir() or target.is_symlink():
            session.report(where, Rule.MLFLOW_MISSING, f"{key} {value!r} is not a folder")
        return None
    if rel not in formats:
        session.report(
            where, Rule.MLFLOW_MISSING, f"{key} {value!r} does not exist in the model folder"
        )
        return None
    return rel
