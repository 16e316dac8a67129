"""manifest.json: the typed facts one pipeline run accumulates, step by step.

It is the contract between steps and between CI jobs: a later step finds its inputs here,
so a user never repeats a path. Each step owns one section; the file has a JSON Schema
(``modelci schema --manifest``, shipped as ``schemas/manifest.schema.json`` and derived from
these dataclasses) and is validated on read and on write. A manifest from another
``schema_version`` or with a bad section is refused with exit 2, naming the key.

The run folder is input from the previous job, not truth: what moves production re-derives
its evidence from the registry (see docs/security.md). Types here keep a damaged or edited
file from being misread; they do not make it trustworthy.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from modelci import typedjson

#: bumped when a section changes incompatibly; readers refuse any other version
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class StepRecord:
    """How a step ended, and where its report is."""

    passed: bool
    finished: str
    report: str | None = None


@dataclass(frozen=True)
class DatasetFacts:
    """A dataset a step read: where from and its content digest."""

    source: str
    digest: str | None = None
    files: tuple[str, ...] = ()
    format: str | None = None
    rows: int | None = None
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidateFacts:
    """What validate-data found."""

    passed: bool
    checks: int
    failed: int
    drift_share: float | None = None
    target_drift: bool | None = None


@dataclass(frozen=True)
class TrainFacts:
    """The model train fitted, tracked and registered."""

    run_id: str
    experiment_id: str
    tracking_uri: str = field(metadata={"doc": "the registry's URI without credentials"})
    registered_model: str
    model_version: str
    model_uri: str
    run_model_uri: str
    model_digest: str
    model_path: str | None = None
    task: Literal["classification", "regression"] | None = None
    target: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    classes: tuple[Any, ...] | None = None
    data_digest: str | None = None
    eval_data: str | None = None
    eval_digest: str | None = None
    predictions: str | None = None


@dataclass(frozen=True)
class ModelSide:
    """One model of a comparison."""

    uri: str | None = None
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    digest: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class RuleFacts:
    metric: str
    scope: str
    passed: bool
    difference: float | None = None
    interval: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class CompareFacts:
    """compare's verdict, and where its decision file is."""

    passed: bool
    summary: str
    candidate: ModelSide
    decision: str
    decision_sha256: str
    production: ModelSide | None = None
    rules: tuple[RuleFacts, ...] = ()
    html: str | None = None


@dataclass(frozen=True)
class PromoteFacts:
    """What promote changed (or would have, or why not)."""

    passed: bool
    model: str
    alias: str | None = None
    version: str | None = None
    previous_version: str | None = None
    kind: str | None = None
    dry_run: bool = False
    registry: str | None = None
    reason: str | None = None
    decision_sha256: str | None = None
    notes: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanFacts:
    """What scan found in the model's files."""

    passed: bool
    path: str
    files: int
    errors: int
    warnings: int
    model_digest: str | None = None
    sarif: str | None = None


@dataclass(frozen=True)
class SignFacts:
    """Where the model's signature and the signed run facts are, and who signed."""

    model: str
    signature: str
    statement: str
    model_digest: str = field(metadata={"doc": "modelci's digest of the model (train's)"})
    files_digest: str = field(metadata={"doc": "sha256 of the signed files' listing"})
    method: str
    identity: str
    issuer: str | None = None
    registered_model: str | None = None
    model_version: str | None = None


@dataclass(frozen=True)
class VerifyFacts:
    """The signature verify checked, and whose it was."""

    passed: bool
    model: str
    signature: str
    identity: str | None = None
    issuer: str | None = None
    files_digest: str | None = None
    statement: bool = False


@dataclass(frozen=True)
class SbomFacts:
    """Where the bill of materials is, and its digest."""

    path: str
    digest: str
    format: str
    model_digest: str | None = None


@dataclass(frozen=True)
class ProvenanceFacts:
    """Where the provenance is, whether it is signed, and what it names."""

    statement: str
    digest: str
    builder: str
    bundle: str | None = None
    subjects: int = 0


@dataclass(frozen=True)
class Manifest:
    """The facts of one pipeline run (``<run folder>/manifest.json``)."""

    schema_version: int
    modelci_version: str
    created: str
    updated: str | None = None
    #: step records written into this manifest so far, one more with each: which of several
    #: copies of the run folder's manifest is the newest, whatever the machines' clocks say
    records: int = 0
    steps: dict[str, StepRecord] = field(default_factory=dict)
    datasets: dict[str, DatasetFacts] = field(default_factory=dict)
    validate_data: ValidateFacts | None = None
    train: TrainFacts | None = None
    compare: CompareFacts | None = None
    promote: PromoteFacts | None = None
    scan: ScanFacts | None = None
    sign: SignFacts | None = None
    verify: VerifyFacts | None = None
    sbom: SbomFacts | None = None
    provenance: ProvenanceFacts | None = None

    def replace(self, **changes: Any) -> Manifest:
        return dataclasses.replace(self, **changes)


#: the section each step owns, by step name
SECTIONS: dict[str, str] = {
    "validate-data": "validate_data",
    "train": "train",
    "compare": "compare",
    "promote": "promote",
}


def section_name(step: str) -> str:
    return SECTIONS.get(step, step.replace("-", "_"))


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of manifest.json, as shipped in the package."""
    text = resources.files("modelci").joinpath("schemas/manifest.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def derived_schema() -> dict[str, Any]:
    """The schema derived from the dataclasses (the shipped file must equal it)."""
    document = typedjson.schema(
        Manifest,
        title="modelci run manifest (<run folder>/manifest.json)",
        description="The facts one pipeline run accumulates; each step owns one section.",
    )
    document["properties"]["schema_version"] = {"const": SCHEMA_VERSION}
    return document


def errors(data: Any) -> list[tuple[str, str]]:
    """(key path, message) for each way ``data`` breaks the schema, most specific first."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    found = sorted(validator.iter_errors(data), key=lambda e: (-len(e.absolute_path), e.message))
    out: list[tuple[str, str]] = []
    for error in found:
        while error.context:
            error = max(error.context, key=lambda e: len(e.absolute_path))
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        out.append((key, _message(error)))
    return out


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown key {', '.join(map(repr, extra))}"
    if error.validator == "type":
        return f"expected {error.validator_value}, got {json.dumps(error.instance)[:60]}"
    if error.validator == "required":
        return str(error.message)
    return str(error.message)[:200]


def parse(data: Any) -> Manifest:
    """A Manifest from JSON data already checked by :func:`errors`."""
    return typedjson.load(Manifest, data)


def to_json(manifest: Manifest) -> dict[str, Any]:
    data: dict[str, Any] = typedjson.dump(manifest)
    return data


def write_schema() -> None:
    """Regenerate the shipped schema file from the dataclasses (a test checks it is current)."""
    from pathlib import Path

    target = Path(__file__).parent / "schemas" / "manifest.schema.json"
    target.write_text(json.dumps(derived_schema(), indent=2) + "\n", encoding="utf-8")
