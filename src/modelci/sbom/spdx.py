"""The model's bill of materials as SPDX 3.0.1 JSON-LD, with the AI and Dataset profiles.

Built on spdx-python-model, the SPDX project's Python bindings generated (by shacl2code)
from the official SPDX 3.0.1 model and its SHACL shapes: every object is one of its
classes, each property checked against the model's type, enumeration and cardinality as
it is set and when the document is written. Contents:

- ``ai_AIPackage``: the model (version, purl, estimator as ``typeOfModel``,
  hyperparameters, metrics, the considerations as application and limitation text),
  containing one ``software_File`` per model file with its SHA-256;
- ``dataset_DatasetPackage`` per dataset (``trainedOn`` / ``testedOn``), with its digest,
  its source as download location, and its data contract as a ``hasSpecification`` file;
- ``software_Package`` per runtime distribution (``dependsOn``), with its purl, the
  hashes the requirements pin and, when known, its declared license
  (``hasDeclaredLicense`` to a ``simplelicensing_LicenseExpression``);
- the signature bundle as an external reference of the model;
- one ``CreationInfo``: spec version, the injected timestamp, modelci as the tool.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from modelci.sbom import modelcard
from modelci.sbom.inputs import Requirement, SbomInputs, sha256_hex
from modelci.sbom.references import document_uuid, group_datasets, model_purl, without_credentials

SPEC_VERSION = "3.0.1"
ID_BASE = "https://modelci.dev/spdx"


def build_spdx3(inputs: SbomInputs) -> dict[str, Any]:
    """The SPDX 3.0.1 JSON-LD document (``@context`` and ``@graph``)."""
    from spdx_python_model import v3_0_1 as spdx

    model = inputs.model
    base = f"{ID_BASE}/{document_uuid(model, 'spdx3')}"

    def ref(local: str) -> str:
        return f"{base}#{local}"

    creation = spdx.CreationInfo(specVersion=SPEC_VERSION, created=inputs.timestamp)
    agent = spdx.SoftwareAgent(
        _id=ref("agent-modelci"), name=inputs.tool.name, creationInfo=creation
    )
    tool = spdx.Tool(
        _id=ref("tool-modelci"),
        name=f"{inputs.tool.name} {inputs.tool.version}",
        creationInfo=creation,
    )
    creation.createdBy = [agent]
    creation.createdUsing = [tool]
    elements: list[Any] = [agent, tool]

    def relate(kind: str, source: Any, targets: Iterable[Any], local: str) -> None:
        targets = list(targets)
        if targets:
            elements.append(
                spdx.Relationship(
                    _id=ref(f"rel-{local}"),
                    creationInfo=creation,
                    from_=source,
                    to=targets,
                    relationshipType=getattr(spdx.RelationshipType, kind),
                )
            )

    def sha256(value: str) -> Any:
        return spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=value)

    package = spdx.ai_AIPackage(
        _id=ref("model"),
        name=model.name,
        creationInfo=creation,
        software_packageVersion=model.version,
        software_packageUrl=str(model_purl(model)),
        software_primaryPurpose=spdx.software_SoftwarePurpose.model,
        software_downloadLocation=f"models:/{model.name}/{model.version}",
        builtTime=inputs.timestamp,
    )
    if model.estimator:
        package.ai_typeOfModel = [model.estimator]
        family = modelcard.architecture_family(model.estimator)
        if family:
            package.ai_typeOfModel.append(family)
    if model.task:
        package.description = f"{model.task} model"
    package.ai_hyperparameter = [
        spdx.DictionaryEntry(key=p.name, value=p.value) for p in model.params
    ]
    package.ai_metric = [
        spdx.DictionaryEntry(key=key, value=value)
        for metric in modelcard.performance_metrics(inputs.performance)
        for key, value in _metric_entries(metric)
    ]
    considerations = inputs.considerations
    application = [
        *(f"user: {u}" for u in considerations.users),
        *(f"use: {u}" for u in considerations.use_cases),
    ]
    if application:
        package.ai_informationAboutApplication = "; ".join(application)
    limits = [
        *considerations.limitations,
        *(f"tradeoff: {t}" for t in considerations.tradeoffs),
        *(
            f"ethical risk: {r.name}" + (f" (mitigation: {r.mitigation})" if r.mitigation else "")
            for r in considerations.ethical
        ),
        *(
            f"fairness, {f.group}: "
            + "; ".join(
                f"{label} {text}"
                for label, text in (
                    ("benefits", f.benefits),
                    ("harms", f.harms),
                    ("mitigation", f.mitigation),
                )
                if text
            )
            for f in considerations.fairness
        ),
    ]
    if limits:
        package.ai_limitation = "; ".join(limits)
    if inputs.signature_bundle:
        package.externalRef = [
            spdx.ExternalRef(
                externalRefType=spdx.ExternalRefType.other,
                locator=[without_credentials(inputs.signature_bundle)],
                comment="Sigstore bundle signing every model file (modelci sign)",
            )
        ]
    elements.append(package)

    files = [
        spdx.software_File(
            _id=ref(f"file-{index}"),
            name=f.path,
            creationInfo=creation,
            verifiedUsing=[sha256(f.sha256)],
        )
        for index, f in enumerate(model.files)
    ]
    elements.extend(files)
    relate("contains", package, files, "model-contains")

    trained: list[Any] = []
    tested: list[Any] = []
    for index, entry in enumerate(group_datasets(inputs.datasets)):
        dataset = entry.dataset
        described = " and ".join(entry.roles) + " dataset"
        if dataset.rows is not None:
            described += f", {dataset.rows} rows"
        if dataset.columns:
            described += f", columns: {', '.join(dataset.columns)}"
        data = spdx.dataset_DatasetPackage(
            _id=ref(f"dataset-{index}"),
            name=dataset.label,
            creationInfo=creation,
            dataset_datasetType=[spdx.dataset_DatasetType.structured],
            software_primaryPurpose=spdx.software_SoftwarePurpose.data,
            software_downloadLocation=without_credentials(dataset.source),
            verifiedUsing=[sha256(sha256_hex(dataset.digest, "dataset"))],
            description=described,
        )
        elements.append(data)
        if "training" in entry.roles:
            trained.append(data)
        if "evaluation" in entry.roles:
            tested.append(data)
        if dataset.contract:
            contract = spdx.software_File(
                _id=ref(f"dataset-{index}-contract"),
                name=without_credentials(dataset.contract),
                creationInfo=creation,
                software_primaryPurpose=spdx.software_SoftwarePurpose.specification,
                verifiedUsing=(
                    [sha256(sha256_hex(dataset.contract_digest, "contract"))]
                    if dataset.contract_digest
                    else []
                ),
            )
            elements.append(contract)
            relate("hasSpecification", data, [contract], f"dataset-{index}-contract")
    relate("trainedOn", package, trained, "trained-on")
    relate("testedOn", package, tested, "tested-on")

    runtime = []
    for index, requirement in enumerate(inputs.runtime.requirements):
        dependency = _package(spdx, requirement, ref(f"package-{index}"), creation)
        runtime.append(dependency)
        elements.append(dependency)
        if requirement.license:
            expression = spdx.simplelicensing_LicenseExpression(
                _id=ref(f"package-{index}-license"),
                creationInfo=creation,
                simplelicensing_licenseExpression=_spdx_license(requirement.license),
            )
            elements.append(expression)
            relate("hasDeclaredLicense", dependency, [expression], f"package-{index}-license")
    relate("dependsOn", package, runtime, "model-depends-on")

    document = spdx.SpdxDocument(
        _id=ref("document"),
        name=f"{model.name} {model.version} bill of materials",
        creationInfo=creation,
        rootElement=[package],
        element=list(elements),
        profileConformance=[
            spdx.ProfileIdentifierType.core,
            spdx.ProfileIdentifierType.software,
            spdx.ProfileIdentifierType.ai,
            spdx.ProfileIdentifierType.dataset,
            spdx.ProfileIdentifierType.simpleLicensing,
        ],
    )
    objects = spdx.SHACLObjectSet([document, *elements])
    document_data: dict[str, Any] = spdx.JSONLDSerializer().serialize_data(
        objects, force_at_graph=True
    )
    return document_data


def spdx3_json(inputs: SbomInputs) -> bytes:
    text = json.dumps(build_spdx3(inputs), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _package(spdx: Any, requirement: Requirement, spdx_id: str, creation: Any) -> Any:
    algorithms = {
        "sha256": spdx.HashAlgorithm.sha256,
        "sha384": spdx.HashAlgorithm.sha384,
        "sha512": spdx.HashAlgorithm.sha512,
    }
    return spdx.software_Package(
        _id=spdx_id,
        name=requirement.name,
        creationInfo=creation,
        software_packageVersion=requirement.version,
        software_packageUrl=requirement.purl,
        software_primaryPurpose=spdx.software_SoftwarePurpose.library,
        software_downloadLocation=f"https://pypi.org/project/{requirement.name}/{requirement.version}/",
        verifiedUsing=[
            spdx.Hash(algorithm=algorithms[h.algorithm], hashValue=h.value)
            for h in requirement.hashes
        ],
    )


def _spdx_license(declared: str) -> str:
    """An SPDX license expression: the declared one when it is one, else a LicenseRef."""
    from cyclonedx.spdx import fixup_id, is_expression

    fixed = fixup_id(declared)
    if fixed is not None:
        return fixed
    if is_expression(declared):
        return declared
    cleaned = "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in declared).strip("-")
    return f"LicenseRef-{cleaned or 'unknown'}"


def _metric_entries(metric: dict[str, Any]) -> list[tuple[str, str]]:
    """``accuracy (train holdout)`` = value, and the interval's bounds as their own
    entries: SPDX's metric is a plain key and value."""
    key = f"{metric['type']} ({metric['slice']})"
    entries = [(key, str(metric["value"]))]
    interval = metric.get("confidenceInterval")
    if interval:
        entries.append((f"{key} lower bound", str(interval["lowerBound"])))
        entries.append((f"{key} upper bound", str(interval["upperBound"])))
    return entries
