"""Our part of the CycloneDX document: the model card and the data components' ``data``.

cyclonedx-python-lib models everything else of an ML-BOM but not ``modelCard`` nor
``componentData`` yet (its issue #912; PR #914 is open). Until it does, this module builds
those two objects as plain JSON values in the order of the CycloneDX 1.6 XML schema's
sequences, and converts the same values to XML elements, so one builder serves both
formats. The library's output is parsed and these are inserted into its components; the
whole document is then checked against the official 1.6 JSON schema and XSD in tests.
When the library gains a model card, this module is replaced by its model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from modelci.sbom.inputs import (
    ComparedMetric,
    Considerations,
    Dataset,
    ModelSignature,
    Parameter,
    Performance,
    SbomInputs,
)

Json: TypeAlias = Any  # plain JSON values built here, dict order = XSD sequence order

PROPERTY_PREFIX = "modelci"

#: array → element name of one item, where CycloneDX's XML wraps JSON arrays
_XML_ITEM = {
    "inputs": "input",
    "outputs": "output",
    "performanceMetrics": "performanceMetric",
    "users": "user",
    "useCases": "useCase",
    "technicalLimitations": "technicalLimitation",
    "performanceTradeoffs": "performanceTradeoff",
    "ethicalConsiderations": "ethicalConsideration",
    "fairnessAssessments": "fairnessAssessment",
}

#: what scikit-learn's module (or a known library) says about the model's family
_FAMILIES = {
    "sklearn.linear_model": "linear model",
    "sklearn.svm": "support vector machine",
    "sklearn.tree": "decision tree",
    "sklearn.neighbors": "nearest neighbours",
    "sklearn.naive_bayes": "naive Bayes",
    "sklearn.neural_network": "multilayer perceptron (neural network)",
    "sklearn.gaussian_process": "Gaussian process",
    "sklearn.discriminant_analysis": "discriminant analysis",
    "sklearn.kernel_ridge": "kernel ridge regression",
    "sklearn.isotonic": "isotonic regression",
    "sklearn.cross_decomposition": "partial least squares",
    "sklearn.semi_supervised": "graph-based semi-supervised",
    "sklearn.dummy": "baseline (constant or prior)",
    "sklearn.cluster": "clustering",
    "sklearn.mixture": "mixture model",
    "xgboost": "gradient-boosted decision trees",
    "lightgbm": "gradient-boosted decision trees",
    "catboost": "gradient-boosted decision trees",
}

_SUPERVISED_TASKS = frozenset({"classification", "regression"})


def architecture_family(estimator: str | None) -> str | None:
    """The family of an estimator class given by import path, where it is known."""
    if not estimator:
        return None
    module, _, name = estimator.replace(":", ".").rpartition(".")
    if module.startswith("sklearn.ensemble"):
        if "Forest" in name or "ExtraTrees" in name:
            return "decision tree ensemble (bagging)"
        if "Boosting" in name:
            return "decision tree ensemble (boosting)"
        return "ensemble"
    for prefix, family in _FAMILIES.items():
        if module == prefix or module.startswith(prefix + "."):
            return family
    return None


def number(value: float) -> str:
    """A metric as CycloneDX wants it (a string): shortest repr that reads back equal."""
    return repr(float(value)) if math.isfinite(value) else str(value)


def model_card(inputs: SbomInputs, model_ref: str, dataset_refs: Sequence[str]) -> Json:
    """The ``modelCard`` object of the model component (JSON form)."""
    model = inputs.model
    parameters: dict[str, Json] = {}
    if model.task in _SUPERVISED_TASKS:
        parameters["approach"] = {"type": "supervised"}
    if model.task:
        parameters["task"] = model.task
    family = architecture_family(model.estimator)
    if family:
        parameters["architectureFamily"] = family
    if model.estimator:
        parameters["modelArchitecture"] = model.estimator
    if dataset_refs:
        parameters["datasets"] = [{"ref": ref} for ref in dataset_refs]
    signature = model.mlmodel.signature if model.mlmodel else None
    parameters.update(_io(signature))
    card: dict[str, Json] = {"bom-ref": f"{model_ref}#model-card"}
    if parameters:
        card["modelParameters"] = parameters
    metrics = performance_metrics(inputs.performance)
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    considerations = _considerations(inputs.considerations)
    if considerations:
        card["considerations"] = considerations
    properties = _card_properties(model.params, inputs.performance)
    if properties:
        card["properties"] = properties
    return card


def _io(signature: ModelSignature | None) -> dict[str, Json]:
    if signature is None:
        return {}
    result: dict[str, Json] = {}
    if signature.inputs:
        result["inputs"] = [{"format": f.describe()} for f in signature.inputs]
    if signature.outputs:
        result["outputs"] = [{"format": f.describe()} for f in signature.outputs]
    return result


def performance_metrics(performance: Performance) -> list[Json]:
    """Train metrics (slice ``train holdout``), then the compare step's candidate values
    and their differences to production with the confidence interval of the difference."""
    metrics: list[Json] = [
        {"type": m.name, "value": number(m.value), "slice": "train holdout"}
        for m in performance.train
    ]
    for row in performance.compared:
        metrics.extend(_compared(row))
    return metrics


def _compared(row: ComparedMetric) -> list[Json]:
    where = "evaluation data" + (f": {row.slice}" if row.slice else "")
    items: list[Json] = []
    if row.candidate is not None:
        items.append({"type": row.metric, "value": number(row.candidate), "slice": where})
    if row.difference is not None:
        difference: dict[str, Json] = {
            "type": f"{row.metric} difference to production",
            "value": number(row.difference),
            "slice": where,
        }
        if row.interval is not None:
            difference["confidenceInterval"] = {
                "lowerBound": number(row.interval.lower),
                "upperBound": number(row.interval.upper),
            }
        items.append(difference)
    return items


def _considerations(c: Considerations) -> dict[str, Json]:
    result: dict[str, Json] = {}
    for key, values in (
        ("users", c.users),
        ("useCases", c.use_cases),
        ("technicalLimitations", c.limitations),
        ("performanceTradeoffs", c.tradeoffs),
    ):
        if values:
            result[key] = list(values)
    if c.ethical:
        result["ethicalConsiderations"] = [
            _present({"name": r.name, "mitigationStrategy": r.mitigation}) for r in c.ethical
        ]
    if c.fairness:
        result["fairnessAssessments"] = [
            _present(
                {
                    "groupAtRisk": f.group,
                    "benefits": f.benefits,
                    "harms": f.harms,
                    "mitigationStrategy": f.mitigation,
                }
            )
            for f in c.fairness
        ]
    return result


def _card_properties(params: Sequence[Parameter], performance: Performance) -> list[Json]:
    properties = [
        {"name": f"{PROPERTY_PREFIX}:hyperparameter:{p.name}", "value": p.value} for p in params
    ]
    if performance.baseline:
        properties.append(
            {"name": f"{PROPERTY_PREFIX}:compare:baseline", "value": performance.baseline}
        )
    levels = sorted({r.interval.confidence for r in performance.compared if r.interval})
    for level in levels:
        properties.append({"name": f"{PROPERTY_PREFIX}:compare:confidence", "value": number(level)})
    return properties


def component_data(dataset: Dataset, ref: str, roles: Sequence[str], url: str | None) -> Json:
    """The ``data`` object of a dataset's component (JSON form)."""
    described = " and ".join(roles) + " dataset"
    size = []
    if dataset.rows is not None:
        size.append(f"{dataset.rows} rows")
    if dataset.columns:
        size.append(f"{len(dataset.columns)} columns")
    if size:
        described += ": " + ", ".join(size)
    data: dict[str, Json] = {"bom-ref": f"{ref}#data", "type": "dataset", "name": dataset.label}
    if url:
        data["contents"] = {"url": url}
    data["description"] = described
    return data


def _present(values: Mapping[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


# --- XML --------------------------------------------------------------------------------


def to_xml(tag: str, value: Json, namespace: str) -> Any:
    """The XML element (lxml) of a JSON object built above, in the CycloneDX namespace."""
    from lxml import etree

    element = etree.Element(f"{{{namespace}}}{tag}", nsmap={None: namespace})
    _fill(element, value, namespace)
    return element


def _fill(element: Any, value: Json, ns: str) -> None:
    from lxml import etree as ET

    for key, item in value.items():
        if key == "bom-ref":
            element.set("bom-ref", item)
        elif key == "properties":
            holder = ET.SubElement(element, f"{{{ns}}}properties")
            for prop in item:
                ET.SubElement(holder, f"{{{ns}}}property", name=prop["name"]).text = prop["value"]
        elif key == "datasets":
            holder = ET.SubElement(element, f"{{{ns}}}datasets")
            for ref in item:
                ET.SubElement(holder, f"{{{ns}}}ref").text = ref["ref"]
        elif isinstance(item, dict):
            _fill(ET.SubElement(element, f"{{{ns}}}{key}"), item, ns)
        elif isinstance(item, list):
            holder = ET.SubElement(element, f"{{{ns}}}{key}")
            for entry in item:
                child = ET.SubElement(holder, f"{{{ns}}}{_XML_ITEM[key]}")
                if isinstance(entry, dict):
                    _fill(child, entry, ns)
                else:
                    child.text = str(entry)
        else:
            ET.SubElement(element, f"{{{ns}}}{key}").text = str(item)
