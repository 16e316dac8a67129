"""scan, sign, verify as steps, and the trust they add to compare and promote: after
`modelci train` on the quickstart, scan, sign and verify need no paths; a signed model's
verdict is promoted only when its signed run facts verify; compare never loads an unsafe
or badly signed production model."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE, CliRunner
from tests.unit.scan_payloads import Payload, evil_dumps
from tests.unit.sign_support import openssl_key_pair

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning"),
]

RUN = Path(".modelci")


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RUN / "manifest.json").read_text())
    return data


@pytest.fixture
def trained(in_tmp: Path, run_cli: CliRunner) -> Path:
    """The quickstart, trained with its embedded registry (a local run)."""
    shutil.copytree(EXAMPLE, in_tmp / "project", ignore=shutil.ignore_patterns(".modelci"))
    # run_cli keeps the variables it is given for the rest of the test
    config = str(in_tmp / "project" / "modelci.yaml")
    result = run_cli("train", "--cv-folds", "0", env={"MODELCI_CONFIG": config})
    assert result.code == 0, result.err
    return in_tmp


def test_scan_sign_verify_need_no_paths_after_train(trained: Path, run_cli: CliRunner) -> None:
    private, public = openssl_key_pair(trained)
    scanned = run_cli("scan")
    assert scanned.code == 0, scanned.err
    sarif = json.loads((RUN / "scan" / "results.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"] == []
    signed = run_cli("sign", "--private-key", str(private))
    assert signed.code == 0, signed.err
    facts = _manifest()["sign"]
    assert facts["signature"] == "sign/model.sig" and facts["method"] == "key"
    assert facts["identity"].startswith("sha256:")
    verified = run_cli("verify", "--public-key", str(public))
    assert verified.code == 0, verified.err
    assert _manifest()["verify"]["statement"] is True


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda m: (m / "MLmodel").write_text((m / "MLmodel").read_text() + "#"),
            "changed MLmodel",
        ),
        (lambda m: (m / "extra.txt").write_text("x"), "added extra.txt"),
        (lambda m: (m / "MLmodel").rename(m / "MLmodel2"), "renamed MLmodel -> MLmodel2"),
        (lambda m: (m / "MLmodel").unlink(), "removed MLmodel"),
    ],
)
def test_verify_fails_closed_on_a_changed_model(
    trained: Path, run_cli: CliRunner, change: Any, words: str
) -> None:
    private, public = openssl_key_pair(trained)
    assert run_cli("sign", "--private-key", str(private)).code == 0
    change(RUN / "train" / "model")
    result = run_cli("verify", "--public-key", str(public))
    assert result.code == 1
    assert words in result.err


def test_verify_checks_the_model_train_made_not_the_folder_the_manifest_names(
    trained: Path, run_cli: CliRunner
) -> None:
    """An attacker who can write the run folder keeps an untouched copy beside a changed model
    and points sign's record at the copy (in a newer copy of the manifest): verify still
    checks the model train made, and says the signature is for another folder."""
    private, public = openssl_key_pair(trained)
    assert run_cli("sign", "--private-key", str(private)).code == 0
    shutil.copytree(RUN / "train" / "model", RUN / "stash" / "model")
    with (RUN / "train" / "model" / "MLmodel").open("a") as handle:
        handle.write("# changed\n")
    forged = _manifest()
    forged["sign"]["model"] = "stash/model"
    forged["records"] += 100
    (RUN / "zz").mkdir()
    (RUN / "zz" / "manifest.json").write_text(json.dumps(forged))

    result = run_cli("verify", "--public-key", str(public))

    assert result.code == 1, result.err
    assert "the signature in the run folder is for stash/model" in result.err


def test_verify_needs_to_be_told_how_and_refuses_the_wrong_key(
    trained: Path, run_cli: CliRunner
) -> None:
    private, _ = openssl_key_pair(trained)
    _, other = openssl_key_pair(trained, "other")
    assert run_cli("sign", "--private-key", str(private)).code == 0
    unconfigured = run_cli("verify")
    assert unconfigured.code == 2 and "--public-key" in unconfigured.err
    wrong = run_cli("verify", "--public-key", str(other))
    assert wrong.code == 1


def test_scan_blocks_an_unsafe_file_and_never_runs_it(trained: Path, run_cli: CliRunner) -> None:
    sentinel = trained / "pwned"
    folder = trained / "suspect"
    shutil.copytree(RUN / "train" / "model", folder)
    payload = Payload(os.system, f"touch {sentinel}")
    (folder / "model.skops").write_bytes(evil_dumps(payload, 4))  # wrong extension too
    result = run_cli("scan", str(folder))
    assert result.code == 1
    assert "posix:system" in result.out or "os:system" in result.out
    sarif = json.loads((RUN / "scan" / "results.sarif").read_text())
    unsafe = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "unsafe-global"]
    assert unsafe, sarif["runs"][0]["results"]
    location = unsafe[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("suspect/model.skops")
    assert location["region"]["byteOffset"] >= 0
    assert not sentinel.exists()
    assert _manifest()["scan"]["passed"] is False


def test_the_pipeline_signs_when_a_key_is_configured_and_says_when_it_cannot(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    shutil.copytree(EXAMPLE, in_tmp / "project", ignore=shutil.ignore_patterns(".modelci"))
    unsigned = run_cli("pipeline", "project")
    assert unsigned.code == 0, unsigned.err
    assert "SKIP  sign: no signing method" in unsigned.out
    # where sign would have run: after scan, before sbom
    lines = [
        line.split()[1].rstrip(":")
        for line in unsigned.out.splitlines()
        if line[:4] in ("PASS", "SKIP")
    ]
    assert lines.index("scan") < lines.index("sign") < lines.index("sbom")
    explicit = run_cli("pipeline", "project", "--steps", "sign")
    assert explicit.code == 2
    assert "--steps: sign cannot run here" in explicit.err
    private, _ = openssl_key_pair(in_tmp)
    signed = run_cli("pipeline", "project", env={"MODELCI_SIGN__PRIVATE_KEY": str(private)})
    assert signed.code == 0, signed.err
    assert "PASS  sign passed" in signed.out


def _signed_and_compared(root: Path, run_cli: CliRunner) -> tuple[Path, Path]:
    private, public = openssl_key_pair(root)
    assert run_cli("compare", "--resamples", "200").code == 0
    assert run_cli("sign", "--private-key", str(private)).code == 0
    return private, public


def test_promote_acts_on_the_signed_verdict_only(trained: Path, run_cli: CliRunner) -> None:
    _, public = _signed_and_compared(trained, run_cli)
    _, other = openssl_key_pair(trained, "other")
    # signed: promote must verify, so it needs to be told how
    assert run_cli("promote").code == 2
    wrong = run_cli("promote", env={"MODELCI_VERIFY__PUBLIC_KEY": str(other)})
    assert wrong.code == 1
    # the signed run facts edited: the bundle no longer verifies
    statement = RUN / "sign" / "run-facts.sigstore.json"
    original = statement.read_bytes()
    bundle = json.loads(original)
    bundle["dsseEnvelope"]["payload"] = bundle["dsseEnvelope"]["payload"][:-8] + "AAAAAAAA"
    statement.write_text(json.dumps(bundle))
    edited = run_cli("promote", env={"MODELCI_VERIFY__PUBLIC_KEY": str(public)})
    assert edited.code == 1
    statement.write_bytes(original)
    done = run_cli("promote", env={"MODELCI_VERIFY__PUBLIC_KEY": str(public)})
    assert done.code == 0, done.err
    report = json.loads((RUN / "promote" / "report.json").read_text())
    assert {c["rule"] for c in report["checks"]} >= {"signature verifies", "signed verdict"}


def test_promote_never_skips_the_signature_of_a_version_the_registry_says_is_signed(
    trained: Path, run_cli: CliRunner
) -> None:
    """Whether the version was signed comes from the registry: a run folder whose newest
    manifest has no sign record (and a changed model) does not skip the check."""
    _, public = _signed_and_compared(trained, run_cli)
    with (RUN / "train" / "model" / "MLmodel").open("a") as handle:
        handle.write("# changed\n")
    forged = _manifest()
    forged.pop("sign")
    forged["steps"].pop("sign")
    forged["records"] += 100
    (RUN / "zz").mkdir()
    (RUN / "zz" / "manifest.json").write_text(json.dumps(forged))

    result = run_cli("promote", env={"MODELCI_VERIFY__PUBLIC_KEY": str(public)})

    assert result.code == 1, result.err
    assert "the registry says it is signed" in result.err


def test_an_unsigned_model_is_refused_when_signatures_are_required(
    trained: Path, run_cli: CliRunner
) -> None:
    assert run_cli("compare", "--resamples", "200").code == 0
    result = run_cli("promote", env={"MODELCI_VERIFY__REQUIRED": "true"})
    assert result.code == 1
    assert "not signed and verify.required is true" in result.err


def test_compare_verifies_a_signed_production_model_before_loading_it(
    trained: Path, run_cli: CliRunner
) -> None:
    _, public = _signed_and_compared(trained, run_cli)
    _, other = openssl_key_pair(trained, "other")
    env = {"MODELCI_VERIFY__PUBLIC_KEY": str(public)}
    assert run_cli("promote", env=env).code == 0  # version 1, signed, is the champion
    assert run_cli("train", "--cv-folds", "0", "--seed", "3").code == 0
    unconfigured = run_cli("compare", "--resamples", "200", env={"MODELCI_VERIFY__PUBLIC_KEY": ""})
    assert unconfigured.code == 2
    assert "is signed: say how to verify it" in unconfigured.err
    wrong = run_cli("compare", "--resamples", "200", env={"MODELCI_VERIFY__PUBLIC_KEY": str(other)})
    assert wrong.code == 1
    right = run_cli("compare", "--resamples", "200", env=env)
    assert right.code in (0, 1), right.err  # judged: the verdict is about accuracy, not trust
    assert "say how to verify" not in right.err and "signature" not in right.err


def test_compare_never_loads_an_unsafe_production_model(in_tmp: Path, run_cli: CliRunner) -> None:
    from mlflow.tracking import MlflowClient

    from modelci.digests import model_digest
    from modelci.registry import tags
    from modelci.registry.store import using
    from tests.unit.compare_support import MODEL, project

    project(in_tmp, champion="1", candidate="2")
    uri = f"sqlite:///{in_tmp / 'mlflow.db'}"
    sentinel = in_tmp / "pwned"
    folder = in_tmp / "evil-model"
    with using(uri):
        import mlflow
        import mlflow.artifacts

        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{MODEL}/1", dst_path=str(folder))
        (folder / "registered_model_meta").unlink(missing_ok=True)
        # the champion's pickled model replaced by one that runs a command when it loads
        pickled = next(p for p in folder.iterdir() if p.suffix in (".pkl", ".pickle", ".skops"))
        pickled.write_bytes(evil_dumps(Payload(os.system, f"touch {sentinel}"), 4))
        with mlflow.start_run() as active:
            mlflow.log_artifacts(str(folder), "model")
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        created = client.create_model_version(MODEL, f"runs:/{active.info.run_id}/model")
        # someone with write access to the registry can tag it as modelci would
        client.set_model_version_tag(
            MODEL, created.version, tags.MODEL_DIGEST, model_digest(folder)
        )
        client.set_registered_model_alias(MODEL, "champion", created.version)
    result = run_cli("compare")
    assert result.code == 1
    assert "the production model is unsafe to load" in result.err
    assert not sentinel.exists()
