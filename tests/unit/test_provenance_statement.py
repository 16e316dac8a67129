"""SLSA Provenance v1 of a real MLflow model folder, checked independently of our code by
the in-toto attestation protobuf bindings (Statement v1 and the SLSA Provenance v1
predicate, unknown fields refused), and against the model on disk."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from modelci.errors import GateFailed, InputError
from modelci.provenance import (
    BUILD_TYPE,
    ConfigFile,
    ProvenanceInputs,
    Resource,
    RunDetails,
    SourceRepository,
    Training,
    build_statement,
    canonical,
    check_statement,
    repository_key,
)
from modelci.sbom import Dataset, DatasetRole, Parameter
from modelci.signing import digest_model
from tests.unit.test_sbom_documents import save_iris_model

BUILDER = "https://github.com/acme/models/.github/workflows/train-attest.yml@refs/heads/main"
REPO = "https://github.com/acme/models"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
STARTED = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
TOKEN = "canary-token-7d1c"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_iris_model(tmp_path_factory.mktemp("provenance") / "model")


@pytest.fixture
def model_dir(saved: Path, tmp_path: Path) -> Path:
    """A fresh copy per test: tests change it."""
    return Path(shutil.copytree(saved, tmp_path / "model"))


def make_inputs(model_dir: Path, **changes: Any) -> ProvenanceInputs:
    inputs = ProvenanceInputs(
        digests=digest_model(model_dir),
        training=Training(
            estimator="sklearn.linear_model.LogisticRegression",
            params=(Parameter.of("max_iter", 300),),
            task="classification",
            target="species",
            seed=42,
            settings=(Parameter.of("split.test_size", 0.2),),
        ),
        run=RunDetails(
            builder_id=BUILDER,
            started_on=STARTED,
            finished_on=STARTED + dt.timedelta(seconds=93, microseconds=250),
            invocation_id="https://github.com/acme/models/actions/runs/42/attempts/1",
            builder_version=(Parameter("modelci", "0.1.0"),),
        ),
        datasets=(
            Dataset(
                DatasetRole.TRAINING,
                f"https://ci:{TOKEN}@data.example.org/iris.csv",
                "sha256:" + "1" * 64,
                contract="contracts/iris.yaml",
                contract_digest="2" * 64,
            ),
        ),
        source=SourceRepository(
            f"https://x:{TOKEN}@github.com/acme/models", COMMIT, "refs/heads/main"
        ),
        config=ConfigFile("modelci.yaml", "3" * 64),
        base_model=Resource("base-model", "models:/encoder/7", "4" * 64),
        entry_point=".github/workflows/train.yml",
        internal=(Parameter("python", "3.11.7"),),
        byproducts=(Resource("mlflow-run", "runs:/0123abcd"),),
    )
    return dataclasses.replace(inputs, **changes)


def _parse(statement: dict[str, Any]) -> tuple[Any, Any]:
    """Parse with the in-toto attestation bindings; unknown fields raise ParseError."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    parsed = json_format.ParseDict(statement, statement_pb2.Statement())
    Statement.copy_from_pb(parsed).validate()
    predicate = json_format.ParseDict(statement["predicate"], provenance_pb2.Provenance())
    for dependency in predicate.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dependency).validate()
    return parsed, predicate


def test_statement_parses_as_in_toto_v1_and_slsa_provenance_v1(model_dir: Path) -> None:
    statement = build_statement(make_inputs(model_dir))
    parsed, predicate = _parse(json.loads(canonical(statement)))
    assert parsed.type == "https://in-toto.io/Statement/v1"
    assert parsed.predicate_type == "https://slsa.dev/provenance/v1"
    definition = predicate.build_definition
    assert definition.build_type == BUILD_TYPE
    assert definition.external_parameters["training"]["estimator"] == (
        "sklearn.linear_model.LogisticRegression"
    )
    details = predicate.run_details
    assert details.builder.id == BUILDER
    assert details.metadata.started_on.ToDatetime(tzinfo=dt.UTC) == STARTED
    assert details.metadata.finished_on.ToDatetime(tzinfo=dt.UTC) > STARTED
    names = [d.name for d in definition.resolved_dependencies]
    assert names == ["source", "dataset:training", "contract:training", "base-model"]
    source = definition.resolved_dependencies[0]
    assert source.uri == "git+https://github.com/acme/models@refs/heads/main"
    assert dict(source.digest) == {"gitCommit": COMMIT}


def test_the_bindings_refuse_what_the_predicate_does_not_define(model_dir: Path) -> None:
    """The check above can fail: an unknown field or a wrong type is refused."""
    from google.protobuf import json_format

    statement = build_statement(make_inputs(model_dir))
    statement["predicate"]["runDetails"]["builder"]["name"] = "ours"
    with pytest.raises(json_format.ParseError, match="name"):
        _parse(statement)
    statement = build_statement(make_inputs(model_dir))
    statement["predicate"]["runDetails"]["metadata"]["startedOn"] = "yesterday"
    with pytest.raises(json_format.ParseError):
        _parse(statement)
    statement = build_statement(make_inputs(model_dir))
    statement["subject"] = []
    with pytest.raises(ValueError, match="subject"):
        _parse(statement)


def test_subjects_are_every_model_file_with_its_sha256(model_dir: Path) -> None:
    statement = build_statement(make_inputs(model_dir))
    subjects = {s["name"]: s["digest"] for s in statement["subject"]}
    on_disk = {
        p.relative_to(model_dir).as_posix(): {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
        for p in model_dir.rglob("*")
        if p.is_file()
    }
    assert subjects == on_disk


def test_subjects_equal_model_signings_own_manifest(model_dir: Path) -> None:
    """digest_model is model-signing's hashing, as the sign step signs the model."""
    from model_signing import hashing

    manifest = hashing.hash(model_dir)
    theirs = {d.identifier: d.digest.digest_hex for d in manifest.resource_descriptors()}
    assert dict(digest_model(model_dir)) == theirs


def test_no_credential_reaches_the_statement(model_dir: Path) -> None:
    assert TOKEN.encode() not in canonical(build_statement(make_inputs(model_dir)))


def test_statement_is_deterministic(model_dir: Path) -> None:
    assert canonical(build_statement(make_inputs(model_dir))) == canonical(
        build_statement(make_inputs(model_dir))
    )


def test_untouched_model_passes(model_dir: Path) -> None:
    statement = build_statement(make_inputs(model_dir))
    check_statement(statement, model_dir, builder=BUILDER, source_repository=REPO)
    check_statement(statement, model_dir, builder=None, source_repository=None)


def _changed(model_dir: Path) -> None:
    with (model_dir / "model.skops").open("ab") as handle:
        handle.write(b"\0")


def _added(model_dir: Path) -> None:
    (model_dir / "extra.pkl").write_bytes(b"cos\nsystem\n")


def _removed(model_dir: Path) -> None:
    (model_dir / "input_example.json").unlink()


def _linked(model_dir: Path) -> None:
    os.symlink("model.skops", model_dir / "alias.skops")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_changed, "changed model.skops"),
        (_added, "added extra.pkl"),
        (_removed, "removed input_example.json"),
        (_linked, "symlink"),
    ],
)
def test_a_changed_model_fails(model_dir: Path, tamper: Any, reason: str) -> None:
    statement = build_statement(make_inputs(model_dir))
    tamper(model_dir)
    with pytest.raises(GateFailed, match=reason) as caught:
        check_statement(statement, model_dir, builder=BUILDER, source_repository=REPO)
    assert "\n" not in str(caught.value)


def test_an_ignored_path_inside_the_model_is_not_a_subject(model_dir: Path) -> None:
    (model_dir / "provenance.sigstore.json").write_text("{}")
    inputs = make_inputs(
        model_dir, digests=digest_model(model_dir, ignore=[Path("provenance.sigstore.json")])
    )
    statement = build_statement(inputs)
    assert "provenance.sigstore.json" not in {s["name"] for s in statement["subject"]}
    check_statement(
        statement,
        model_dir,
        builder=None,
        source_repository=None,
        ignore=[Path("provenance.sigstore.json")],
    )


def test_another_builder_fails(model_dir: Path) -> None:
    statement = build_statement(make_inputs(model_dir))
    other = "https://gitlab.com/acme/models//.gitlab-ci.yml@refs/heads/main"
    with pytest.raises(GateFailed, match=f"built by {BUILDER}, not {other}"):
        check_statement(statement, model_dir, builder=other, source_repository=None)


def test_another_source_repository_fails(model_dir: Path) -> None:
    statement = build_statement(make_inputs(model_dir))
    with pytest.raises(GateFailed, match=r"not from https://github\.com/evil/models"):
        check_statement(
            statement, model_dir, builder=None, source_repository="https://github.com/evil/models"
        )
    statement = build_statement(make_inputs(model_dir, source=None))
    with pytest.raises(GateFailed, match="built from no source repository"):
        check_statement(statement, model_dir, builder=None, source_repository=REPO)


@pytest.mark.parametrize(
    "spelling",
    [
        "https://github.com/acme/models",
        "git+https://github.com/acme/models@refs/heads/main",
        "https://GitHub.com/acme/models.git",
        "https://github.com/acme/models/",
    ],
)
def test_the_same_repository_spelt_differently_passes(model_dir: Path, spelling: str) -> None:
    statement = build_statement(make_inputs(model_dir))
    check_statement(statement, model_dir, builder=None, source_repository=spelling)
    assert repository_key(spelling) == "https://github.com/acme/models"


def test_a_statement_of_another_kind_fails(model_dir: Path) -> None:
    statement = build_statement(make_inputs(model_dir))
    statement["predicateType"] = "https://model_signing/signature/v1.0"
    with pytest.raises(GateFailed, match="not SLSA provenance"):
        check_statement(statement, model_dir, builder=None, source_repository=None)


def test_a_missing_model_folder_is_an_input_error(tmp_path: Path) -> None:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "https://slsa.dev/provenance/v1",
        "subject": [{"name": "a", "digest": {"sha256": "0" * 64}}],
        "predicate": {},
    }
    with pytest.raises(InputError, match="does not exist"):
        check_statement(statement, tmp_path / "absent", builder=None, source_repository=None)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InputError, match="commit"):
        SourceRepository(REPO, "main")
    with pytest.raises(InputError, match="estimator or the training command"):
        Training()
    with pytest.raises(InputError, match="finished before it started"):
        RunDetails(BUILDER, STARTED, STARTED - dt.timedelta(seconds=1))
    with pytest.raises(InputError, match="no model file"):
        ProvenanceInputs(
            digests={}, training=Training(command="python train.py"),
            run=RunDetails(BUILDER, STARTED, STARTED),
        )  # fmt: skip
