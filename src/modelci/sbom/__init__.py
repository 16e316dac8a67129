"""The model's bill of materials: CycloneDX 1.6 ML-BOM (JSON, XML) and SPDX 3.0.1.

One call per document::

    inputs = SbomInputs(model=..., runtime=read_runtime(model_dir, license_of=installed),
                        timestamp=..., datasets=..., performance=..., considerations=...)
    data = render(inputs, SbomFormat.CYCLONEDX_JSON)

Heavy libraries (cyclonedx-python-lib, spdx-python-model) load only when a document is
built: they come with the ``sbom`` extra.
"""

from __future__ import annotations

from modelci.models.mlmodel import read_mlmodel
from modelci.sbom.considerations import from_config as considerations_from_config
from modelci.sbom.cyclonedx import build_cyclonedx, cyclonedx_json, cyclonedx_xml
from modelci.sbom.files import model_files
from modelci.sbom.formats import SbomFormat, render
from modelci.sbom.inputs import (
    ComparedMetric,
    Considerations,
    Dataset,
    DatasetRole,
    FairnessAssessment,
    Flavor,
    Hash,
    Interval,
    MLmodelInfo,
    ModelFile,
    ModelInfo,
    ModelSignature,
    Parameter,
    Performance,
    Requirement,
    Risk,
    Runtime,
    SbomInputs,
    SchemaField,
    ToolInfo,
    TrainMetric,
)
from modelci.sbom.licenses import installed as installed_license
from modelci.sbom.references import model_purl
from modelci.sbom.requirements import parse_requirements, read_runtime
from modelci.sbom.spdx import build_spdx3, spdx3_json

__all__ = [
    "ComparedMetric",
    "Considerations",
    "Dataset",
    "DatasetRole",
    "FairnessAssessment",
    "Flavor",
    "Hash",
    "Interval",
    "MLmodelInfo",
    "ModelFile",
    "ModelInfo",
    "ModelSignature",
    "Parameter",
    "Performance",
    "Requirement",
    "Risk",
    "Runtime",
    "SbomFormat",
    "SbomInputs",
    "SchemaField",
    "ToolInfo",
    "TrainMetric",
    "build_cyclonedx",
    "build_spdx3",
    "considerations_from_config",
    "cyclonedx_json",
    "cyclonedx_xml",
    "installed_license",
    "model_files",
    "model_purl",
    "parse_requirements",
    "read_mlmodel",
    "read_runtime",
    "render",
    "spdx3_json",
]
