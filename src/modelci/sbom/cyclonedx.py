"""The CycloneDX 1.6 ML-BOM of a model, through cyclonedx-python-lib.

The library's public model and outputters write everything they model: metadata (tools,
timestamp, the model as the BOM's subject), the ``machine-learning-model`` component with
one ``file`` component per model file and its SHA-256, the ``data`` components with
their digests, one ``library`` component per runtime distribution (purl, hashes where the
requirements pin them, license where known), the dependency graph and the external
references. ``modelci.sbom.modelcard`` adds the two objects the library lacks
(``modelCard``, ``componentData``) to its output.

Identifiers are derived from the inputs (bom-refs from purls, paths and digests; the
serial number a UUID-5 of the model and its files), so the same inputs and timestamp give
byte-identical documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from modelci.sbom import modelcard
from modelci.sbom.inputs import Dataset, Requirement, SbomInputs, sha256_hex
from modelci.sbom.references import (
    DataEntry,
    document_uuid,
    group_datasets,
    model_purl,
    model_ref,
    without_credentials,
)

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component

NAMESPACE = "http://cyclonedx.org/schema/bom/1.6"
P = modelcard.PROPERTY_PREFIX

#: XSD sequence of a component after ``modelCard`` and ``data``: insert before these
_AFTER_MODEL_CARD = ("data", "cryptoProperties", "tags", "signature")
_AFTER_DATA = ("cryptoProperties", "tags", "signature")


def build_cyclonedx(inputs: SbomInputs) -> dict[str, Any]:
    """The CycloneDX 1.6 JSON document, model card included."""
    bom, entries = _bom(inputs)
    from cyclonedx.output.json import JsonV1Dot6

    document: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    model = document["metadata"]["component"]
    model["modelCard"] = modelcard.model_card(inputs, model["bom-ref"], [e.ref for e in entries])
    by_ref = {c["bom-ref"]: c for c in document.get("components", [])}
    for entry in entries:
        by_ref[entry.ref]["data"] = [_component_data(entry)]
    return document


def cyclonedx_json(inputs: SbomInputs) -> bytes:
    text = json.dumps(build_cyclonedx(inputs), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def cyclonedx_xml(inputs: SbomInputs) -> bytes:
    """The CycloneDX 1.6 XML document, model card included."""
    bom, entries = _bom(inputs)
    from cyclonedx.output.xml import XmlV1Dot6
    from lxml import etree

    # The library's output, parsed to insert what it does not write; entities and network
    # stay off although nothing but our own serializer wrote it.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    root = etree.fromstring(XmlV1Dot6(bom).output_as_string().encode("utf-8"), parser)
    ns = {"c": NAMESPACE}
    model = root.find("c:metadata/c:component", ns)
    if model is None:  # pragma: no cover - the library always writes the subject
        raise RuntimeError("cyclonedx-python-lib wrote no metadata component")
    card = modelcard.model_card(inputs, model.get("bom-ref", ""), [e.ref for e in entries])
    _insert(model, modelcard.to_xml("modelCard", card, NAMESPACE), _AFTER_MODEL_CARD)
    components = {c.get("bom-ref"): c for c in root.findall("c:components/c:component", ns)}
    for entry in entries:
        data = modelcard.to_xml("data", _component_data(entry), NAMESPACE)
        _insert(components[entry.ref], data, _AFTER_DATA)
    etree.indent(root, "  ")
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return text + b"\n"


def _insert(parent: Any, child: Any, before: Iterable[str]) -> None:
    names = {f"{{{NAMESPACE}}}{name}" for name in before}
    for index, existing in enumerate(parent):
        if existing.tag in names:
            parent.insert(index, child)
            return
    parent.append(child)


def _component_data(entry: DataEntry) -> Any:
    return modelcard.component_data(entry.dataset, entry.ref, entry.roles, _url(entry.dataset))


def _url(dataset: Dataset) -> str | None:
    from cyclonedx.model import XsUri

    return str(XsUri(without_credentials(dataset.source)))


def _bom(inputs: SbomInputs) -> tuple[Bom, list[DataEntry]]:
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        XsUri,
    )
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType

    model = _model_component(inputs)
    tools = [
        Component(
            type=ComponentType.APPLICATION,
            name=inputs.tool.name,
            version=inputs.tool.version,
            bom_ref=f"tool:{inputs.tool.name}@{inputs.tool.version}",
        ),
        _library_tool(),
    ]
    metadata = BomMetaData(component=model, timestamp=inputs.timestamp)
    for tool in tools:
        metadata.tools.components.add(tool)
    bom = Bom(serial_number=document_uuid(inputs.model, "cyclonedx"), metadata=metadata)

    entries = group_datasets(inputs.datasets)
    for entry in entries:
        dataset = entry.dataset
        references = []
        if dataset.contract:
            hashes = (
                [
                    HashType(
                        alg=HashAlgorithm.SHA_256,
                        content=sha256_hex(dataset.contract_digest, "contract"),
                    )
                ]
                if dataset.contract_digest
                else []
            )
            references.append(
                ExternalReference(
                    type=ExternalReferenceType.OTHER,
                    url=XsUri(without_credentials(dataset.contract)),
                    comment="data contract the dataset was validated against (modelci)",
                    hashes=hashes,
                )
            )
        bom.components.add(
            Component(
                type=ComponentType.DATA,
                name=dataset.label,
                bom_ref=entry.ref,
                hashes=[
                    HashType(alg=HashAlgorithm.SHA_256, content=sha256_hex(dataset.digest, "data"))
                ],
                external_references=references,
                properties=_properties(
                    [(f"{P}:dataset:role", role) for role in entry.roles]
                    + [(f"{P}:dataset:source", without_credentials(dataset.source))]
                    + (
                        [(f"{P}:dataset:rows", str(dataset.rows))]
                        if dataset.rows is not None
                        else []
                    )
                    + (
                        [(f"{P}:dataset:columns", json.dumps(list(dataset.columns)))]
                        if dataset.columns
                        else []
                    )
                ),
            )
        )
    packages = [_package(r) for r in inputs.runtime.requirements]
    for package in packages:
        bom.components.add(package)
    bom.register_dependency(model, packages)
    for package in packages:
        bom.register_dependency(package, [])
    return bom, entries


def _model_component(inputs: SbomInputs) -> Component:
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        XsUri,
    )
    from cyclonedx.model.component import Component, ComponentType

    model = inputs.model
    purl = model_purl(model)
    ref = model_ref(model)
    files = [
        Component(
            type=ComponentType.FILE,
            name=f.path,
            bom_ref=f"{ref}#{f.path}",
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=f.sha256)],
        )
        for f in model.files
    ]
    references = []
    if inputs.signature_bundle:
        references.append(
            ExternalReference(
                type=ExternalReferenceType.DIGITAL_SIGNATURE,
                url=XsUri(without_credentials(inputs.signature_bundle)),
                comment="Sigstore bundle signing every model file (modelci sign)",
                hashes=(
                    [HashType(alg=HashAlgorithm.SHA_256, content=inputs.signature_sha256)]
                    if inputs.signature_sha256
                    else []
                ),
            )
        )
    pairs = []
    if model.digest:
        pairs.append((f"{P}:model:digest", model.digest))
    if inputs.runtime.python_version:
        pairs.append((f"{P}:runtime:python", inputs.runtime.python_version))
    if model.mlmodel is not None:
        if model.mlmodel.mlflow_version:
            pairs.append(("mlflow:version", model.mlmodel.mlflow_version))
        for flavor in model.mlmodel.flavors:
            pairs.extend(
                (f"mlflow:flavor:{flavor.name}:{s.name}", s.value) for s in flavor.settings
            )
    description = " ".join(
        part
        for part in (
            model.task.capitalize() if model.task else "Model",
            f"trained with {model.estimator}"
            if model.estimator
            else "trained by the team's command",
        )
    )
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=model.name,
        version=model.version,
        bom_ref=ref,
        purl=purl,
        description=description,
        components=files,
        external_references=references,
        properties=_properties(pairs),
    )


def _package(requirement: Requirement) -> Component:
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.license import LicenseAcknowledgement
    from packageurl import PackageURL

    algorithms = {
        "sha256": HashAlgorithm.SHA_256,
        "sha384": HashAlgorithm.SHA_384,
        "sha512": HashAlgorithm.SHA_512,
    }
    licenses = (
        [
            LicenseFactory().make_from_string(
                requirement.license, license_acknowledgement=LicenseAcknowledgement.DECLARED
            )
        ]
        if requirement.license
        else []
    )
    purl = PackageURL(type="pypi", name=requirement.name, version=requirement.version)
    return Component(
        type=ComponentType.LIBRARY,
        name=requirement.name,
        version=requirement.version,
        bom_ref=str(purl),
        purl=purl,
        hashes=[HashType(alg=algorithms[h.algorithm], content=h.value) for h in requirement.hashes],
        licenses=licenses,
        properties=_properties([(f"{P}:requirement:source", requirement.source)])
        if requirement.source
        else [],
    )


def _library_tool() -> Component:
    from cyclonedx.contrib.this.builders import this_component

    component = this_component()
    # Its own entry lists eight links about the library; the name and version say enough.
    from cyclonedx.model.component import Component

    return Component(
        type=component.type,
        group=component.group,
        name=component.name,
        version=component.version,
        bom_ref=f"tool:{component.name}@{component.version}",
    )


def _properties(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    from cyclonedx.model import Property

    return [Property(name=name, value=value) for name, value in pairs]
