"""The real model-signing bundles of shared/corpora/model-signing-bundles verify offline,
and each fails when its model changes (copied to tmp first: the corpus is never touched).

Two of them were signed keylessly on the public Sigstore instance, so they also carry the
cases no test here can produce: the wrong identity, the wrong issuer, the wrong trust root.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from modelci.errors import GateFailed
from modelci.signing import (
    CertificateVerifier,
    IdentityKind,
    IdentityVerifier,
    PublicKeyVerifier,
    Verifier,
    verify_model,
    verify_statement,
)
from modelci.signing.trust import file_for
from tests.unit.sign_support import BUNDLES, CORPUS_IDENTITY, CORPUS_ISSUER, make_pki

# In CI the corpus must be there: a silent skip would hide the only real keyless bundles.
pytestmark = pytest.mark.skipif(
    not BUNDLES.is_dir() and not os.environ.get("CI"), reason="corpora not present"
)

KEYS = BUNDLES / "keys"
KEYLESS = IdentityVerifier(CORPUS_IDENTITY, CORPUS_ISSUER)
VERIFIERS: dict[str, Verifier] = {
    "v1.0.1-sigstore": KEYLESS,
    "v1.1.0-sigstore": KEYLESS,
    "v1.1.0-elliptic-key": PublicKeyVerifier(KEYS / "signing-key-pub.pem"),
    "v1.1.0-certificate": CertificateVerifier((KEYS / "ca-cert.pem",)),
}
# v1.0.1 predates recording ignored paths in the signature: its verifier names them.
IGNORE = {"v1.0.1-sigstore": [Path("ignore-me")]}


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(BUNDLES / name, target)
    for path in (target, *target.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.mark.parametrize("name", list(VERIFIERS))
def test_corpus_bundle_verifies_offline(name: str) -> None:
    model = BUNDLES / name
    verified = verify_model(
        model, model / "model.sig", VERIFIERS[name], ignore=IGNORE.get(name, [])
    )
    assert sorted(verified.digests) == ["signme-1", "signme-2"]
    for file, digest in verified.digests.items():
        import hashlib

        assert hashlib.sha256((model / file).read_bytes()).hexdigest() == digest


def test_corpus_identities() -> None:
    keyless = verify_model(
        BUNDLES / "v1.1.0-sigstore", BUNDLES / "v1.1.0-sigstore" / "model.sig", KEYLESS
    )
    assert keyless.identity.kind is IdentityKind.KEYLESS
    assert (keyless.identity.name, keyless.identity.issuer) == (CORPUS_IDENTITY, CORPUS_ISSUER)
    cert = verify_model(
        BUNDLES / "v1.1.0-certificate",
        BUNDLES / "v1.1.0-certificate" / "model.sig",
        VERIFIERS["v1.1.0-certificate"],
    )
    assert cert.identity.kind is IdentityKind.CERTIFICATE
    assert cert.identity.name == "CN=intermediate-ca"


@pytest.mark.parametrize("name", list(VERIFIERS))
@pytest.mark.parametrize("file", ["signme-1", "signme-2"])
def test_corpus_model_changed_fails(tmp_path: Path, name: str, file: str) -> None:
    model = _copy(tmp_path, name)
    with (model / file).open("ab") as handle:
        handle.write(b"!")
    with pytest.raises(GateFailed) as failed:
        verify_model(model, model / "model.sig", VERIFIERS[name], ignore=IGNORE.get(name, []))
    assert f"changed {file}" in str(failed.value)
    assert "\n" not in str(failed.value)


@pytest.mark.parametrize("name", list(VERIFIERS))
def test_corpus_model_with_an_added_file_fails(tmp_path: Path, name: str) -> None:
    model = _copy(tmp_path, name)
    (model / "signme-3").write_text("new\n")
    with pytest.raises(GateFailed, match="added signme-3"):
        verify_model(model, model / "model.sig", VERIFIERS[name], ignore=IGNORE.get(name, []))


def test_ignored_file_of_the_corpus_is_out_of_scope(tmp_path: Path) -> None:
    model = _copy(tmp_path, "v1.1.0-sigstore")
    (model / "ignore-me").write_text("changed: the signer left this file out\n")
    verify_model(model, model / "model.sig", KEYLESS)


def test_wrong_identity(tmp_path: Path) -> None:
    model = BUNDLES / "v1.1.0-sigstore"
    verifier = IdentityVerifier("mallory@example.com", CORPUS_ISSUER)
    with pytest.raises(GateFailed) as failed:
        verify_model(model, model / "model.sig", verifier)
    assert f"the signing certificate is for {CORPUS_IDENTITY}, not for mallory@example.com" in str(
        failed.value
    )


def test_wrong_issuer() -> None:
    model = BUNDLES / "v1.1.0-sigstore"
    verifier = IdentityVerifier(CORPUS_IDENTITY, "https://token.actions.githubusercontent.com")
    with pytest.raises(GateFailed, match=r"token from https://sigstore.verify.ibm.com/oauth2, not"):
        verify_model(model, model / "model.sig", verifier)


def _wrong_root(tmp_path: Path) -> Path:
    """The production trust config with its Fulcio CAs swapped for a CA made here."""
    config = json.loads(file_for(None, tmp_path).read_text())
    stranger = make_pki(tmp_path / "stranger", "stranger")
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    der = x509.load_pem_x509_certificate(stranger.root.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    for authority in config["trustedRoot"]["certificateAuthorities"]:
        authority["certChain"]["certificates"] = [{"rawBytes": base64.b64encode(der).decode()}]
    path = tmp_path / "wrong-trust.json"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("name", ["v1.0.1-sigstore", "v1.1.0-sigstore"])
def test_wrong_trust_root(tmp_path: Path, name: str) -> None:
    model = BUNDLES / name
    verifier = IdentityVerifier(CORPUS_IDENTITY, CORPUS_ISSUER, _wrong_root(tmp_path))
    with pytest.raises(GateFailed) as failed:
        verify_model(model, model / "model.sig", verifier, ignore=IGNORE.get(name, []))
    assert "is not trusted by the trust config" in str(failed.value)
    assert "wrong-trust.json" in str(failed.value)


def test_explicit_trust_config(tmp_path: Path) -> None:
    model = BUNDLES / "v1.1.0-sigstore"
    trust = file_for(None, tmp_path)
    verify_model(
        model, model / "model.sig", IdentityVerifier(CORPUS_IDENTITY, CORPUS_ISSUER, trust)
    )


def test_keyless_bundle_needs_the_identity_verifier() -> None:
    model = BUNDLES / "v1.1.0-sigstore"
    with pytest.raises(GateFailed, match=r"made with keyless .*verify it with --identity"):
        verify_model(model, model / "model.sig", PublicKeyVerifier(KEYS / "signing-key-pub.pem"))


def test_corpus_certificate_bundle_with_another_root(tmp_path: Path) -> None:
    model = BUNDLES / "v1.1.0-certificate"
    stranger = make_pki(tmp_path / "stranger", "stranger")
    with pytest.raises(GateFailed, match="does not chain to the trusted certificates"):
        verify_model(model, model / "model.sig", CertificateVerifier((stranger.root,)))


# The model bundles are DSSE in-toto statements too: the statement verifier reads them,
# keyless ones through sigstore-python's own Verifier.verify_dsse.


@pytest.mark.parametrize("name", list(VERIFIERS))
def test_corpus_bundles_verify_as_statements(name: str) -> None:
    verified = verify_statement((BUNDLES / name / "model.sig").read_bytes(), VERIFIERS[name])
    assert verified.statement.predicate_type == "https://model_signing/signature/v1.0"
    assert [s.name for s in verified.statement.subjects] == [name]


def test_corpus_statement_wrong_identity_and_root(tmp_path: Path) -> None:
    bundle = (BUNDLES / "v1.1.0-sigstore" / "model.sig").read_bytes()
    with pytest.raises(GateFailed, match=r"not for mallory@example.com"):
        verify_statement(bundle, IdentityVerifier("mallory@example.com", CORPUS_ISSUER))
    with pytest.raises(GateFailed, match="is not trusted by the trust config"):
        verify_statement(
            bundle, IdentityVerifier(CORPUS_IDENTITY, CORPUS_ISSUER, _wrong_root(tmp_path))
        )


def test_corpus_keyless_statement_edited(tmp_path: Path) -> None:
    document = json.loads((BUNDLES / "v1.1.0-sigstore" / "model.sig").read_bytes())
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    document["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(GateFailed, match=r"the signature does not verify .*the bundle was changed"):
        verify_statement(json.dumps(document).encode(), KEYLESS)


def test_unreadable_trust_config(tmp_path: Path) -> None:
    from modelci.errors import InputError

    model = BUNDLES / "v1.1.0-sigstore"
    (tmp_path / "trust.json").write_text('{"mediaType": "nope"}')
    for path, reason in (
        (tmp_path / "trust.json", "not a Sigstore client trust config"),
        (tmp_path / "absent.json", "cannot read the trust config"),
    ):
        with pytest.raises(InputError, match=reason) as failed:
            verify_model(
                model, model / "model.sig", IdentityVerifier(CORPUS_IDENTITY, CORPUS_ISSUER, path)
            )
        assert path.name in str(failed.value)
