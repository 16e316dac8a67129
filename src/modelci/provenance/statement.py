"""The SLSA Provenance v1 statement of a trained model (an in-toto Statement v1).

``build_statement`` lays the inputs out as https://slsa.dev/spec/v1.0/provenance says and
as ``BUILD_TYPE`` (docs/provenance.md) defines its parameters. Signing is one call on the
``sign`` step's API (``modelci.signing.sign_statement``), so the provenance is signed with
the same methods and into the same Sigstore bundle format as the model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from modelci.provenance.inputs import ProvenanceInputs, Resource, SourceRepository
from modelci.sbom.inputs import Parameter, sha256_hex
from modelci.sbom.references import without_credentials

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
#: the resolvedDependencies entry that names the source repository
SOURCE = "source"


def build_statement(inputs: ProvenanceInputs) -> dict[str, Any]:
    """The in-toto statement (a JSON object) with every model file as a subject."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": digest}} for name, digest in inputs.digests.items()
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": _build_definition(inputs),
            "runDetails": _run_details(inputs),
        },
    }


def _build_definition(inputs: ProvenanceInputs) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "buildType": inputs.build_type,
        "externalParameters": _external(inputs),
    }
    if inputs.internal:
        definition["internalParameters"] = _parameters(inputs.internal)
    dependencies = _dependencies(inputs)
    if dependencies:
        definition["resolvedDependencies"] = dependencies
    return definition


def _external(inputs: ProvenanceInputs) -> dict[str, Any]:
    training = inputs.training
    recipe: dict[str, Any] = {}
    if training.command:
        recipe["command"] = training.command
    if training.estimator:
        recipe["estimator"] = training.estimator
        recipe["params"] = _parameters(training.params)
    for key, value in (("task", training.task), ("target", training.target)):
        if value:
            recipe[key] = value
    if training.seed is not None:
        recipe["seed"] = training.seed
    if training.settings:
        recipe["settings"] = _parameters(training.settings)
    external: dict[str, Any] = {"training": recipe}
    if inputs.config is not None:
        external["config"] = {
            "path": inputs.config.path,
            "digest": {"sha256": inputs.config.sha256},
        }
    if inputs.datasets:
        external["datasets"] = [
            {
                "role": d.role.value,
                "uri": without_credentials(d.source),
                "digest": {"sha256": sha256_hex(d.digest, d.source)},
            }
            for d in inputs.datasets
        ]
    if inputs.source is not None:
        external["source"] = _source_uri(inputs.source)
    if inputs.entry_point:
        external["entryPoint"] = inputs.entry_point
    return external


def _dependencies(inputs: ProvenanceInputs) -> list[dict[str, Any]]:
    resolved: list[dict[str, Any]] = []
    if inputs.source is not None:
        resolved.append(
            {
                "uri": _source_uri(inputs.source),
                "digest": {"gitCommit": inputs.source.commit},
                "name": SOURCE,
            }
        )
    for d in inputs.datasets:
        resolved.append(
            {
                "uri": without_credentials(d.source),
                "digest": {"sha256": sha256_hex(d.digest, d.source)},
                "name": f"dataset:{d.role.value}",
            }
        )
        if d.contract and d.contract_digest:
            resolved.append(
                {
                    "uri": without_credentials(d.contract),
                    "digest": {"sha256": sha256_hex(d.contract_digest, d.contract)},
                    "name": f"contract:{d.role.value}",
                }
            )
    if inputs.base_model is not None:
        resolved.append(_resource(inputs.base_model))
    resolved.extend(_resource(r) for r in inputs.dependencies)
    return resolved


def _run_details(inputs: ProvenanceInputs) -> dict[str, Any]:
    run = inputs.run
    builder: dict[str, Any] = {"id": run.builder_id}
    if run.builder_version:
        builder["version"] = _parameters(run.builder_version)
    metadata: dict[str, Any] = {}
    if run.invocation_id:
        metadata["invocationId"] = run.invocation_id
    metadata["startedOn"] = _time(run.started_on)
    metadata["finishedOn"] = _time(run.finished_on)
    details: dict[str, Any] = {"builder": builder, "metadata": metadata}
    if inputs.byproducts:
        details["byproducts"] = [_resource(r) for r in inputs.byproducts]
    return details


def _source_uri(source: SourceRepository) -> str:
    """``git+https://host/org/repo@refs/heads/main``: SLSA's form for a git source."""
    uri = without_credentials(source.uri)
    uri = uri if uri.startswith("git+") else f"git+{uri}"
    return f"{uri}@{source.ref}" if source.ref else uri


def _resource(resource: Resource) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"name": resource.name}
    if resource.uri:
        descriptor["uri"] = without_credentials(resource.uri)
    if resource.sha256:
        descriptor["digest"] = {"sha256": resource.sha256}
    return descriptor


def _parameters(parameters: tuple[Parameter, ...]) -> dict[str, str]:
    return {p.name: p.value for p in parameters}


def _time(moment: dt.datetime) -> str:
    """RFC 3339 in UTC, to the second or finer: what the SLSA schema's Timestamp takes."""
    text = moment.astimezone(dt.UTC).isoformat()
    return text.replace("+00:00", "Z")


def canonical(statement: dict[str, Any]) -> bytes:
    """The statement as the bytes that get signed: compact JSON, keys sorted (the form
    ``modelci.signing.Statement.to_json`` produces, so reading it back signs the same)."""
    import json

    text = json.dumps(
        statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")
