"""The SBOM documents of a real MLflow model folder, checked by other tools than ours.

CycloneDX JSON against the official 1.6 JSON schema and XML against the 1.6 XSD (the
schema files cyclonedx-python-lib ships, through its validators); SPDX 3.0.1 read back by
spdx-python-model, the SPDX project's bindings generated from the official model and
SHACL shapes, which refuse unknown types and properties and check cardinalities.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from modelci.errors import InputError
from modelci.sbom import (
    ComparedMetric,
    Considerations,
    Dataset,
    DatasetRole,
    FairnessAssessment,
    Interval,
    ModelInfo,
    Parameter,
    Performance,
    Requirement,
    Risk,
    Runtime,
    SbomFormat,
    SbomInputs,
    TrainMetric,
    build_cyclonedx,
    build_spdx3,
    installed_license,
    model_files,
    read_mlmodel,
    read_runtime,
    render,
)

NS = {"c": "http://cyclonedx.org/schema/bom/1.6"}
WHEN = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
DATA_DIGEST = "sha256:" + hashlib.sha256(b"iris data").hexdigest()
EVAL_DIGEST = "sha256:" + hashlib.sha256(b"iris evaluation data").hexdigest()
CONTRACT_DIGEST = hashlib.sha256(b"contract").hexdigest()
TOKEN = "canary-token-3f9a"


def save_iris_model(path: Path) -> Path:
    """A real MLflow model folder: LogisticRegression on iris, saved with skops."""
    import mlflow.sklearn
    import sklearn
    import skops
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, target = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(features, target)
    mlflow.sklearn.save_model(
        model,
        str(path),
        serialization_format="skops",
        input_example=features.head(3),
        # pinned as the train step pins them: no slow inference in a subprocess
        pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"],
    )
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_iris_model(tmp_path_factory.mktemp("sbom") / "model")


def make_inputs(model_dir: Path, **changes: Any) -> SbomInputs:
    model = ModelInfo(
        name="iris-classifier",
        version="3",
        path=model_dir,
        files=model_files(model_dir),
        estimator="sklearn.linear_model.LogisticRegression",
        params=(Parameter.of("max_iter", 300), Parameter.of("C", 1.0)),
        task="classification",
        mlmodel=read_mlmodel(model_dir),
        registry_uri=f"https://ci:{TOKEN}@mlflow.example.org/?token={TOKEN}",
        run_id="0123456789abcdef",
    )
    inputs = SbomInputs(
        model=model,
        runtime=read_runtime(model_dir, license_of=installed_license),
        timestamp=WHEN,
        datasets=(
            Dataset(
                DatasetRole.TRAINING,
                "data/iris.csv",
                DATA_DIGEST,
                rows=150,
                columns=("sepal length (cm)", "sepal width (cm)", "species"),
                contract="contracts/iris.yaml",
                contract_digest=CONTRACT_DIGEST,
            ),
            Dataset(DatasetRole.EVALUATION, "data/iris.csv", DATA_DIGEST, rows=150),
            Dataset(
                DatasetRole.EVALUATION,
                f"s3://bucket/holdout.parquet?X-Amz-Credential={TOKEN}",
                EVAL_DIGEST,
                rows=30,
            ),
        ),
        performance=Performance(
            train=(TrainMetric("accuracy", 0.9733333333333334), TrainMetric("f1", 0.97)),
            compared=(
                ComparedMetric("accuracy", 0.97, 0.95, 0.02, Interval(-0.01, 0.05, 0.95), True),
                ComparedMetric(
                    "accuracy",
                    0.9,
                    0.92,
                    -0.02,
                    Interval(-0.1, 0.05, 0.95),
                    True,
                    slice="species = setosa",
                    rows=10,
                ),
            ),
            baseline="models:/iris-classifier@champion",
        ),
        considerations=Considerations(
            users=("loan officers",),
            use_cases=("demonstration",),
            limitations=("only three species",),
            ethical=(Risk("none known", "review yearly"),),
            fairness=(FairnessAssessment("rare species", harms="more errors"),),
        ),
        signature_bundle="model.sig",
        signature_sha256=hashlib.sha256(b"bundle").hexdigest(),
    )
    return dataclasses.replace(inputs, **changes)


def _disk_digests(model_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(model_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in model_dir.rglob("*")
        if p.is_file()
    }


# --- CycloneDX ----------------------------------------------------------------------------


def test_cyclonedx_json_is_valid_against_the_official_1_6_schema(model_dir: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render(make_inputs(model_dir), SbomFormat.CYCLONEDX_JSON).decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert json.loads(text)["specVersion"] == "1.6"


def test_cyclonedx_xml_is_valid_against_the_official_1_6_xsd(model_dir: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    text = render(make_inputs(model_dir), SbomFormat.CYCLONEDX_XML).decode()
    assert XmlValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert "<modelCard " in text and "<data " in text


def test_the_validators_refuse_a_broken_model_card(model_dir: Path) -> None:
    """The checks above can fail: an unknown key in our part of the document is refused."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from cyclonedx.validation.xml import XmlValidator

    document = build_cyclonedx(make_inputs(model_dir))
    document["metadata"]["component"]["modelCard"]["modelParameters"]["epochs"] = "3"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    xml = render(make_inputs(model_dir), SbomFormat.CYCLONEDX_XML).decode()
    broken = xml.replace("<task>classification</task>", "<epochs>3</epochs>")
    assert XmlValidator(SchemaVersion.V1_6).validate_str(broken)


def test_every_model_file_is_listed_with_its_sha256(model_dir: Path) -> None:
    document = build_cyclonedx(make_inputs(model_dir))
    model = document["metadata"]["component"]
    assert model["type"] == "machine-learning-model"
    listed = {}
    for file in model["components"]:
        assert file["type"] == "file"
        (digest,) = file["hashes"]
        assert digest["alg"] == "SHA-256"
        listed[file["name"]] = digest["content"]
    assert listed == _disk_digests(model_dir)
    assert {"MLmodel", "model.skops", "requirements.txt", "python_env.yaml"} <= listed.keys()


def test_every_model_file_is_listed_with_its_sha256_in_xml(model_dir: Path) -> None:
    from lxml import etree

    root = etree.fromstring(render(make_inputs(model_dir), SbomFormat.CYCLONEDX_XML))
    files = root.findall("c:metadata/c:component/c:components/c:component", NS)
    listed = {
        f.findtext("c:name", namespaces=NS): f.findtext("c:hashes/c:hash", namespaces=NS)
        for f in files
    }
    assert listed == _disk_digests(model_dir)


def test_model_component_names_version_purl_and_signature(model_dir: Path) -> None:
    model = build_cyclonedx(make_inputs(model_dir))["metadata"]["component"]
    assert (model["name"], model["version"]) == ("iris-classifier", "3")
    assert model["bom-ref"] == "pkg:mlflow/iris-classifier@3"
    assert model["purl"] == (
        "pkg:mlflow/iris-classifier@3"
        "?repository_url=https://mlflow.example.org/&run_id=0123456789abcdef"
    )
    (signature,) = model["externalReferences"]
    assert signature["type"] == "digital-signature"
    assert signature["url"] == "model.sig"
    properties = {p["name"]: p["value"] for p in model["properties"]}
    assert properties["mlflow:flavor:sklearn:serialization_format"] == "skops"


def test_model_card_holds_what_the_issue_asks(model_dir: Path) -> None:
    document = build_cyclonedx(make_inputs(model_dir))
    card = document["metadata"]["component"]["modelCard"]
    parameters = card["modelParameters"]
    assert parameters["approach"] == {"type": "supervised"}
    assert parameters["task"] == "classification"
    assert parameters["architectureFamily"] == "linear model"
    assert parameters["modelArchitecture"] == "sklearn.linear_model.LogisticRegression"
    # datasets are references to data components of this document
    data_refs = {c["bom-ref"] for c in document["components"] if c["type"] == "data"}
    assert {d["ref"] for d in parameters["datasets"]} == data_refs
    assert len(data_refs) == 2  # training and evaluation on the same file: one component
    # input and output schema from the MLflow signature
    signature = read_mlmodel(model_dir).signature
    assert signature is not None
    assert [i["format"] for i in parameters["inputs"]] == [
        f"{f.name}: {f.type}" for f in signature.inputs
    ]
    assert parameters["outputs"] == [{"format": "long"}]
    metrics = card["quantitativeAnalysis"]["performanceMetrics"]
    assert {"type": "accuracy", "value": "0.9733333333333334", "slice": "train holdout"} in metrics
    assert {
        "type": "accuracy difference to production",
        "value": "-0.02",
        "slice": "evaluation data: species = setosa",
        "confidenceInterval": {"lowerBound": "-0.1", "upperBound": "0.05"},
    } in metrics
    considerations = card["considerations"]
    assert considerations["users"] == ["loan officers"]
    assert considerations["ethicalConsiderations"] == [
        {"name": "none known", "mitigationStrategy": "review yearly"}
    ]
    assert considerations["fairnessAssessments"] == [
        {"groupAtRisk": "rare species", "harms": "more errors"}
    ]
    properties = {p["name"]: p["value"] for p in card["properties"]}
    assert properties["modelci:hyperparameter:max_iter"] == "300"
    assert properties["modelci:compare:baseline"] == "models:/iris-classifier@champion"


def test_data_components_carry_digest_rows_roles_and_contract(model_dir: Path) -> None:
    document = build_cyclonedx(make_inputs(model_dir))
    data = {c["bom-ref"]: c for c in document["components"] if c["type"] == "data"}
    training = data[f"data:sha256:{DATA_DIGEST.removeprefix('sha256:')}"]
    assert training["hashes"] == [{"alg": "SHA-256", "content": DATA_DIGEST[7:]}]
    properties = [(p["name"], p["value"]) for p in training["properties"]]
    assert ("modelci:dataset:role", "training") in properties
    assert ("modelci:dataset:role", "evaluation") in properties
    assert ("modelci:dataset:rows", "150") in properties
    columns = json.loads(dict(properties)["modelci:dataset:columns"])
    assert columns == ["sepal length (cm)", "sepal width (cm)", "species"]  # order kept
    (contract,) = training["externalReferences"]
    assert contract["url"] == "contracts/iris.yaml"
    assert contract["hashes"] == [{"alg": "SHA-256", "content": CONTRACT_DIGEST}]
    assert training["data"][0]["type"] == "dataset"


def test_runtime_packages_come_from_the_models_requirements(model_dir: Path) -> None:
    import sklearn
    import skops

    document = build_cyclonedx(make_inputs(model_dir))
    packages = {c["name"]: c for c in document["components"] if c["type"] == "library"}
    assert set(packages) == {"mlflow", "scikit-learn", "skops"}  # not modelci's own venv
    sk = packages["scikit-learn"]
    assert sk["version"] == sklearn.__version__
    assert sk["purl"] == f"pkg:pypi/scikit-learn@{sklearn.__version__}"
    # installed here at the same version: its declared license is known
    assert sk["licenses"] == [{"license": {"acknowledgement": "declared", "id": "BSD-3-Clause"}}]
    assert packages["skops"]["version"] == skops.__version__
    graph = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    assert set(graph["pkg:mlflow/iris-classifier@3"]) == {c["bom-ref"] for c in packages.values()}


def test_license_stays_unknown_for_a_version_not_installed(model_dir: Path) -> None:
    runtime = Runtime(
        requirements=(
            Requirement(
                "scikit-learn", "0.0.1", license=installed_license("scikit-learn", "0.0.1")
            ),
        )
    )
    document = build_cyclonedx(make_inputs(model_dir, runtime=runtime))
    (package,) = [c for c in document["components"] if c["type"] == "library"]
    assert "licenses" not in package


def test_tool_and_timestamp_metadata(model_dir: Path) -> None:
    from modelci import __version__

    metadata = build_cyclonedx(make_inputs(model_dir))["metadata"]
    assert metadata["timestamp"] == "2025-01-02T03:04:05+00:00"
    tools = {t["name"]: t["version"] for t in metadata["tools"]["components"]}
    assert tools["modelci"] == __version__
    assert "cyclonedx-python-lib" in tools


@pytest.mark.parametrize("fmt", list(SbomFormat))
def test_same_inputs_give_the_same_bytes(model_dir: Path, fmt: SbomFormat) -> None:
    first = render(make_inputs(model_dir), fmt)
    assert render(make_inputs(model_dir), fmt) == first
    later = render(make_inputs(model_dir, timestamp=WHEN + dt.timedelta(days=1)), fmt)
    assert later != first
    assert b"2025-01-03" in later


@pytest.mark.parametrize("fmt", list(SbomFormat))
def test_no_credential_reaches_a_document(model_dir: Path, fmt: SbomFormat) -> None:
    assert TOKEN.encode() not in render(make_inputs(model_dir), fmt)


def test_a_naive_timestamp_is_refused(model_dir: Path) -> None:
    with pytest.raises(InputError, match="timezone"):
        make_inputs(model_dir, timestamp=dt.datetime(2025, 1, 1))


def test_no_mlmodel_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="MLmodel"):
        read_mlmodel(tmp_path)


def test_model_files_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        model_files(tmp_path / "absent")


# --- SPDX 3.0.1 ---------------------------------------------------------------------------


def _spdx_objects(document: dict[str, Any]) -> tuple[Any, dict[str, list[Any]]]:
    import spdx_python_model

    model, objects = spdx_python_model.load_data(json.loads(json.dumps(document)))
    by_type: dict[str, list[Any]] = {}
    for obj in objects.foreach():
        by_type.setdefault(type(obj).__name__, []).append(obj)
    return model, by_type


def test_spdx3_reads_back_through_the_official_model_bindings(model_dir: Path) -> None:
    import spdx_python_model

    document = build_spdx3(make_inputs(model_dir))
    assert document["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    model, objects = spdx_python_model.load_data(document)
    assert model.__name__.endswith("v3_0_1")
    # writing it again checks every cardinality of the shapes (minCount, maxCount)
    again = model.JSONLDSerializer().serialize_data(objects, force_at_graph=True)
    assert again["@graph"]


def test_spdx3_bindings_refuse_what_the_model_does_not_define(model_dir: Path) -> None:
    """The check above can fail: an unknown property or a missing required one."""
    import spdx_python_model

    document = build_spdx3(make_inputs(model_dir))
    ai = next(o for o in document["@graph"] if o["type"] == "ai_AIPackage")
    ai["ai_epochs"] = 3
    with pytest.raises(KeyError, match="ai_epochs"):
        spdx_python_model.load_data(document)
    document = build_spdx3(make_inputs(model_dir))
    dataset = next(o for o in document["@graph"] if o["type"] == "dataset_DatasetPackage")
    del dataset["dataset_datasetType"]
    model, objects = spdx_python_model.load_data(document)
    with pytest.raises(ValueError, match="dataset_datasetType"):
        model.JSONLDSerializer().serialize_data(objects)


def test_spdx3_ai_and_dataset_profiles(model_dir: Path) -> None:
    document = build_spdx3(make_inputs(model_dir))
    _spdx, by_type = _spdx_objects(document)
    (doc,) = by_type["SpdxDocument"]
    profiles = {str(p).rsplit("/", 1)[-1] for p in doc.profileConformance}
    assert {"core", "software", "ai", "dataset"} <= profiles
    (ai,) = by_type["ai_AIPackage"]
    assert (ai.name, ai.software_packageVersion) == ("iris-classifier", "3")
    assert ai.software_packageUrl.startswith("pkg:mlflow/iris-classifier@3")
    assert "sklearn.linear_model.LogisticRegression" in list(ai.ai_typeOfModel)
    assert {e.key: e.value for e in ai.ai_hyperparameter}["max_iter"] == "300"
    assert doc.rootElement[0] is ai
    (creation,) = {id(o.creationInfo): o.creationInfo for o in by_type["ai_AIPackage"]}.values()
    assert creation.specVersion == "3.0.1"
    assert creation.created == WHEN
    relations: dict[str, list[Any]] = {}
    for rel in by_type["Relationship"]:
        relations.setdefault(str(rel.relationshipType).rsplit("/", 1)[-1], []).append(rel)
    (contains,) = relations["contains"]
    files = {f.name: f.verifiedUsing[0].hashValue for f in contains.to}
    assert files == _disk_digests(model_dir)
    (trained,) = relations["trainedOn"]
    assert [d.verifiedUsing[0].hashValue for d in trained.to] == [DATA_DIGEST[7:]]
    (tested,) = relations["testedOn"]
    assert len(tested.to) == 2
    (depends,) = relations["dependsOn"]
    assert {p.name for p in depends.to} == {"mlflow", "scikit-learn", "skops"}
    licensed = {r.from_.name for r in relations["hasDeclaredLicense"]}
    assert "scikit-learn" in licensed
    (spec,) = relations["hasSpecification"]
    assert spec.to[0].verifiedUsing[0].hashValue == CONTRACT_DIGEST
