"""Read an MLflow model folder's ``MLmodel``: its flavors and signature.

``MLmodel`` is YAML whose ``signature`` holds JSON strings (MLflow's schema format). It is
read as data, without importing MLflow (seconds of import for a few keys) and without
loading the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from modelci.errors import InputError, first_line
from modelci.sbom.inputs import Flavor, MLmodelInfo, ModelSignature, Parameter, SchemaField

MLMODEL = "MLmodel"


def read_mlmodel(model_dir: Path) -> MLmodelInfo:
    """Flavors and signature of the model in ``model_dir``; ``InputError`` naming the file
    when it is missing or not MLflow's format."""
    path = model_dir / MLMODEL
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path}: no MLmodel file: {model_dir} is not an MLflow model folder"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: not readable as YAML ({first_line(exc, 120)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        raise InputError(f"{path}: has no 'flavors' mapping; is it an MLflow MLmodel file?")
    flavors = tuple(
        Flavor(str(name), _scalars(settings)) for name, settings in sorted(data["flavors"].items())
    )
    version = data.get("mlflow_version")
    return MLmodelInfo(
        flavors=flavors,
        signature=_signature(data.get("signature"), path),
        mlflow_version=str(version) if version is not None else None,
    )


def _scalars(settings: Any) -> tuple[Parameter, ...]:
    if not isinstance(settings, Mapping):
        return ()
    return tuple(
        Parameter(str(key), str(value))
        for key, value in sorted(settings.items())
        if isinstance(value, str | int | float | bool)
    )


def _signature(raw: Any, path: Path) -> ModelSignature | None:
    if not isinstance(raw, Mapping):
        return None
    return ModelSignature(
        inputs=_schema(raw.get("inputs"), path, "inputs"),
        outputs=_schema(raw.get("outputs"), path, "outputs"),
        params=_schema(raw.get("params"), path, "params"),
    )


def _schema(raw: Any, path: Path, key: str) -> tuple[SchemaField, ...]:
    if raw in (None, ""):
        return ()
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: signature.{key} is not JSON ({exc.msg})") from None
    if not isinstance(items, list):
        raise InputError(f"{path}: signature.{key} must be a list of columns or tensors")
    fields = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or "type" not in item:
            raise InputError(f"{path}: signature.{key}[{index}] has no 'type'")
        fields.append(_field(item))
    return tuple(fields)


def _field(item: Mapping[str, Any]) -> SchemaField:
    name = item.get("name")
    required = bool(item.get("required", True))
    spec = item.get("tensor-spec")
    if item["type"] == "tensor" and isinstance(spec, Mapping):
        shape = spec.get("shape") or []
        return SchemaField(
            type=f"tensor {spec.get('dtype', '?')}",
            name=str(name) if name is not None else None,
            required=required,
            shape=tuple(int(dim) for dim in shape),
        )
    kind = item["type"]
    if kind == "array" and isinstance(item.get("items"), Mapping):
        kind = f"array<{item['items'].get('type', '?')}>"
    return SchemaField(
        type=str(kind), name=str(name) if name is not None else None, required=required
    )
