"""sbom and provenance as steps: after `modelci train` and `modelci sign` on the quickstart they
need no paths; the SBOM validates against CycloneDX 1.6 and lists every model file with its
real hash; the provenance's subjects are the signed files, and a changed model fails
`modelci verify --provenance`."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE, CliRunner
from tests.unit.sign_support import openssl_key_pair

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning"),
]

RUN = Path(".modelci")


@pytest.fixture
def signed(in_tmp: Path, run_cli: CliRunner) -> tuple[Path, Path]:
    shutil.copytree(EXAMPLE, in_tmp / "project", ignore=shutil.ignore_patterns(".modelci"))
    private, public = openssl_key_pair(in_tmp)
    env = {
        "MODELCI_CONFIG": str(in_tmp / "project" / "modelci.yaml"),
        "MODELCI_SIGN__PRIVATE_KEY": str(private),
        "SOURCE_DATE_EPOCH": "1767225600",
    }
    assert run_cli("train", "--cv-folds", "0", env=env).code == 0
    assert run_cli("compare", "--resamples", "200").code == 0
    assert run_cli("sign").code == 0
    return private, public


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RUN / "manifest.json").read_text())
    return data


def test_sbom_needs_no_paths_validates_and_hashes_every_file(
    signed: tuple[Path, Path], run_cli: CliRunner
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    result = run_cli("sbom")
    assert result.code == 0, result.err
    facts = _manifest()["sbom"]
    document = RUN / facts["path"]
    text = document.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert facts["digest"] == "sha256:" + hashlib.sha256(document.read_bytes()).hexdigest()
    bom = json.loads(text)
    model = bom["metadata"]["component"]  # the BOM is about the model
    assert model["type"] == "machine-learning-model"
    files = {c["name"]: c["hashes"][0]["content"] for c in model.get("components", [])}
    folder = RUN / "train" / "model"
    on_disk = {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }
    assert files == on_disk
    assert "modelCard" in model
    refs = {r["type"] for r in bom.get("externalReferences", [])} | {
        r["type"] for r in model.get("externalReferences", [])
    }
    assert refs  # the signature bundle is referenced


def test_sbom_in_xml_and_spdx(signed: tuple[Path, Path], run_cli: CliRunner) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    assert run_cli("sbom", "--format", "cyclonedx-xml").code == 0
    xml = (RUN / "sbom" / "model.cdx.xml").read_text()
    assert XmlValidator(SchemaVersion.V1_6).validate_str(xml) is None
    assert run_cli("sbom", "--format", "spdx3-json").code == 0
    spdx = json.loads((RUN / "sbom" / "model.spdx3.json").read_text())
    assert "@context" in spdx


def test_provenance_is_about_the_signed_files_and_fails_on_a_changed_model(
    signed: tuple[Path, Path], run_cli: CliRunner
) -> None:
    _, public = signed
    assert run_cli("provenance").code == 0
    facts = _manifest()["provenance"]
    assert facts["bundle"] == "provenance/provenance.sigstore.json"
    statement = json.loads((RUN / facts["statement"]).read_text())
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    from modelci.signing import PublicKeyVerifier, verify_model

    verified = verify_model(RUN / "train" / "model", RUN / "sign" / "model.sig",
                            PublicKeyVerifier(public))  # fmt: skip
    assert subjects == dict(verified.digests)
    ok = run_cli("verify", "--public-key", str(public), "--provenance", str(RUN / facts["bundle"]))
    assert ok.code == 0, ok.err
    wrong_builder = run_cli(
        "verify", "--public-key", str(public), "--provenance", str(RUN / facts["bundle"]),
        "--builder", "https://github.com/evil/workflow",
    )  # fmt: skip
    assert wrong_builder.code == 1
    (RUN / "train" / "model" / "MLmodel").write_text("changed")
    changed = run_cli(
        "verify", "--public-key", str(public), "--provenance", str(RUN / facts["bundle"])
    )
    assert changed.code == 1


def test_signed_provenance_checked_by_other_tools(
    signed: tuple[Path, Path], run_cli: CliRunner
) -> None:
    """The bundle's DSSE envelope verified by securesystemslib and sigstore-python (two DSSE
    implementations that are not ours) and its statement parsed by the in-toto attestation
    framework's own bindings: a document we only read back ourselves would prove little."""
    import base64

    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement as IntotoStatement
    from securesystemslib.dsse import Envelope as SslibEnvelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey
    from sigstore import dsse
    from sigstore_models.intoto import Envelope

    _, public = signed
    assert run_cli("provenance").code == 0
    bundle = json.loads((RUN / "provenance" / "provenance.sigstore.json").read_text())
    raw = bundle["dsseEnvelope"]
    # securesystemslib matches signatures to keys by keyid (not DSSE-spec; its issue #416):
    # give the one signature the key's id, nothing else of the envelope changes.
    key = SSlibKey.from_crypto(load_pem_public_key(public.read_bytes()))

    def sslib(envelope: dict[str, Any]) -> SslibEnvelope:  # from_dict edits what it reads
        signatures = [{**s, "keyid": key.keyid} for s in envelope["signatures"]]
        return SslibEnvelope.from_dict({**envelope, "signatures": signatures})

    assert key.keyid in sslib(raw).verify([key], 1)
    tampered = dict(raw, payload=base64.b64encode(b'{"_type": "x"}').decode())
    with pytest.raises(VerificationError):
        sslib(tampered).verify([key], 1)
    payload = dsse._verify(
        load_pem_public_key(public.read_bytes()), dsse.Envelope(Envelope.from_dict(raw))
    )
    message = json_format.ParseDict(json.loads(payload), statement_pb2.Statement())
    IntotoStatement.copy_from_pb(message).validate()
    assert message.predicate_type == "https://slsa.dev/provenance/v1"


def test_documents_need_train_facts_and_a_model(in_tmp: Path, run_cli: CliRunner) -> None:
    for step in ("sbom", "provenance"):
        result = run_cli(step)
        assert result.code == 2
        assert "modelci train" in result.err
        missing = run_cli(step, str(in_tmp / "nowhere"))
        assert missing.code == 2


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_a_run_folder_taken_to_another_job_attaches_documents_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: CliRunner
) -> None:
    """The run folder travels between CI jobs, each in its own build folder: the embedded
    store's locations follow it, so sbom attaches to the store it was given, never to the
    folder where train ran (which may be another job's, or gone)."""
    first, second = tmp_path / "train-job", tmp_path / "sbom-job"
    first.mkdir()
    shutil.copytree(EXAMPLE, first / "project", ignore=shutil.ignore_patterns(".modelci"))
    monkeypatch.chdir(first)
    config = {"MODELCI_CONFIG": str(first / "project" / "modelci.yaml")}
    assert run_cli("train", "--cv-folds", "0", env=config).code == 0
    shutil.copytree(first, second)
    before = _files(first)

    monkeypatch.chdir(second)
    config = {"MODELCI_CONFIG": str(second / "project" / "modelci.yaml")}
    result = run_cli("sbom", env=config)
    assert result.code == 0, result.err

    assert _files(first) == before
    attached = list((second / RUN / "mlartifacts").rglob("artifacts/modelci/*.cdx.json"))
    assert len(attached) == 1, sorted(p.name for p in (second / RUN).rglob("*"))


def test_an_edited_store_cannot_send_documents_outside_the_run_folder(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    """The run folder's MLflow store travels with it: a location edited in mlflow.db to point
    elsewhere is refused (exit 2 naming it), and nothing is written there."""
    import sqlite3

    shutil.copytree(EXAMPLE, in_tmp / "project", ignore=shutil.ignore_patterns(".modelci"))
    config = {"MODELCI_CONFIG": str(in_tmp / "project" / "modelci.yaml")}
    assert run_cli("train", "--cv-folds", "0", env=config).code == 0
    elsewhere = in_tmp / "elsewhere"
    with sqlite3.connect(in_tmp / RUN / "mlflow.db") as db:
        db.execute("UPDATE runs SET artifact_uri = ?", (elsewhere.as_uri(),))
    db.close()

    result = run_cli("sbom", env=config)

    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and "outside the run folder's artifact folder" in result.err
    assert str(elsewhere) in result.err
    assert not elsewhere.exists()


def test_an_edited_store_cannot_send_the_next_model_outside_the_run_folder(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    import sqlite3

    shutil.copytree(EXAMPLE, in_tmp / "project", ignore=shutil.ignore_patterns(".modelci"))
    config = {"MODELCI_CONFIG": str(in_tmp / "project" / "modelci.yaml")}
    assert run_cli("train", "--cv-folds", "0", env=config).code == 0
    elsewhere = in_tmp / "run" / ".." / ".." / "elsewhere"
    with sqlite3.connect(in_tmp / RUN / "mlflow.db") as db:
        db.execute("UPDATE experiments SET artifact_location = ?", (elsewhere.as_uri(),))
    db.close()

    result = run_cli("train", "--cv-folds", "0", env=config)

    assert result.code == 2, result.err
    assert "outside the run folder's artifact folder" in result.err
    assert not elsewhere.resolve().exists()
