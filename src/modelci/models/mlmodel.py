"""Read an MLflow model folder's ``MLmodel``: its flavors and signature.

``MLmodel`` is YAML whose ``signature`` holds JSON strings (MLflow's schema format). It is
read as data, without importing MLflow (seconds of import for a few keys) and without
loading the model: compare reads a model's columns and flavors before anything of it runs,
and the bill of materials describes the model from the same facts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelci.errors import InputError, first_line

MLMODEL = "MLmodel"


@dataclass(frozen=True)
class Parameter:
    """A hyperparameter or setting as text: strings as they are, anything else as JSON."""

    name: str
    value: str

    @classmethod
    def of(cls, name: str, value: object) -> Parameter:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        return cls(name, text)


@dataclass(frozen=True)
class SchemaField:
    """One column or tensor of an MLflow signature."""

    type: str
    name: str | None = None
    required: bool = True
    #: tensor shape (-1 for a free dimension); None for a column
    shape: tuple[int, ...] | None = None

    def describe(self) -> str:
        """``sepal width (cm): double`` or ``tensor float64 [-1, 4]``."""
        kind = self.type if self.shape is None else f"{self.type} {list(self.shape)}"
        text = f"{self.name}: {kind}" if self.name else kind
        return text if self.required else f"{text} (optional)"


@dataclass(frozen=True)
class ModelSignature:
    inputs: tuple[SchemaField, ...]
    outputs: tuple[SchemaField, ...] = ()
    params: tuple[SchemaField, ...] = ()


@dataclass(frozen=True)
class Flavor:
    """An MLflow flavor and its scalar settings (``sklearn``: serialization_format=skops)."""

    name: str
    settings: tuple[Parameter, ...] = ()


@dataclass(frozen=True)
class MLmodelInfo:
    """What the folder's ``MLmodel`` file says about the model."""

    flavors: tuple[Flavor, ...]
    signature: ModelSignature | None = None
    mlflow_version: str | None = None

    def has_flavor(self, name: str) -> bool:
        return any(flavor.name == name for flavor in self.flavors)

    @property
    def input_columns(self) -> tuple[tuple[str, str], ...] | None:
        """The signature's input columns as (name, type); ``None`` without a signature, or
        for a tensor signature, which names no columns."""
        if self.signature is None or not self.signature.inputs:
            return None
        if any(item.name is None or item.shape is not None for item in self.signature.inputs):
            return None
        return tuple((str(item.name), item.type) for item in self.signature.inputs)


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
