"""Signed in-toto statements (run facts, provenance) with the methods that sign models.

Besides our own verify_statement, each bundle is read by independent code: sigstore-python
and in-toto-attestation check the statement's shape, and model-signing's own key and
certificate verifiers (its internals: it exposes no public API for a statement) check the
DSSE signature and the bundle layout, so our envelope is not only read back by itself.
"""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelci.errors import GateFailed, InputError
from modelci.signing import (
    CertificateSigner,
    CertificateVerifier,
    IdentityKind,
    IdentityVerifier,
    KeylessSigner,
    KeySigner,
    PublicKeyVerifier,
    Statement,
    Subject,
    sign_model,
    sign_statement,
    subjects_for,
    verify_statement,
)
from tests.unit.sign_support import (
    CANARY_PASSWORD,
    make_model,
    make_pki,
    write_key,
    write_public_key,
)

RUN_FACTS = "https://modelci.dev/run-facts/v1"


def _statement() -> Statement:
    return Statement(
        subjects=(Subject("model.skops", "a" * 64), Subject("MLmodel", "b" * 64)),
        predicate_type=RUN_FACTS,
        predicate={
            "dataset": {"digest": "sha256:" + "c" * 64},
            "mlflow": {"run_id": "0f3c", "model_version": 7},
            "metrics": {"accuracy": 0.93, "rows": 1500},
            "gate": {"verdict": "pass", "champion": None},
        },
    )


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["p256", "p384"])
def test_key_round_trip(tmp_path: Path, curve: ec.EllipticCurve) -> None:
    key = write_key(tmp_path / "key.pem", curve)
    public = write_public_key(tmp_path / "key.pub", key)
    bundle = sign_statement(_statement(), KeySigner(tmp_path / "key.pem"))
    verified = verify_statement(bundle, PublicKeyVerifier(public))
    assert verified.statement == _statement()
    assert verified.identity.kind is IdentityKind.KEY
    # integers stay integers (no protobuf Struct float conversion on the way)
    assert verified.statement.predicate["metrics"] == {"accuracy": 0.93, "rows": 1500}


def test_certificate_round_trip(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki", password=CANARY_PASSWORD)
    signer = CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,), CANARY_PASSWORD)
    bundle = sign_statement(_statement(), signer)
    verified = verify_statement(bundle, CertificateVerifier((pki.root,)))
    assert verified.statement == _statement()
    assert verified.identity.name == "CN=pki model signer"
    assert CANARY_PASSWORD.encode() not in bundle


def test_statement_over_the_signed_model(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model")
    key = write_key(tmp_path / "key.pem")
    public = write_public_key(tmp_path / "key.pub", key)
    signed = sign_model(model, KeySigner(tmp_path / "key.pem"), tmp_path / "model.sig")
    statement = Statement(signed.subjects(), RUN_FACTS, {"gate": {"verdict": "pass"}})
    verified = verify_statement(
        sign_statement(statement, KeySigner(tmp_path / "key.pem")), PublicKeyVerifier(public)
    )
    verified.require_subjects(signed.digests)
    (model / "model.skops").write_bytes(b"retrained")
    from modelci.signing import verify_model

    with pytest.raises(GateFailed):
        verify_model(model, tmp_path / "model.sig", PublicKeyVerifier(public))
    changed = dict(signed.digests) | {"model.skops": "f" * 64}
    with pytest.raises(GateFailed, match=r"not about the model: changed model\.skops"):
        verified.require_subjects(changed)


def test_subjects_for_sorts_by_path() -> None:
    subjects = subjects_for({"b": "1" * 64, "a": "2" * 64})
    assert [s.name for s in subjects] == ["a", "b"]


def test_payload_is_the_in_toto_statement(tmp_path: Path) -> None:
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement as in_toto
    from in_toto_attestation.v1 import statement_pb2
    from sigstore import dsse

    write_key(tmp_path / "key.pem")
    bundle = json.loads(sign_statement(_statement(), KeySigner(tmp_path / "key.pem")))
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    payload = base64.b64decode(envelope["payload"])
    dsse.Statement(payload)  # sigstore-python's in-toto v1 model accepts it
    parsed = json_format.Parse(payload, statement_pb2.Statement())  # type: ignore[attr-defined]
    in_toto.Statement.copy_from_pb(parsed).validate()  # in-toto-attestation's own checks


def test_model_signing_verifies_our_key_envelope(tmp_path: Path) -> None:
    from model_signing._signing import sign_ec_key, sign_sigstore_pb

    key = write_key(tmp_path / "key.pem", ec.SECP384R1())
    public = write_public_key(tmp_path / "key.pub", key)
    (tmp_path / "s.sig").write_bytes(sign_statement(_statement(), KeySigner(tmp_path / "key.pem")))
    signature = sign_sigstore_pb.Signature.read(tmp_path / "s.sig")
    payload_type, payload = sign_ec_key.Verifier(public)._verify_signed_content(signature)
    assert payload_type == "application/vnd.in-toto+json"
    assert json.loads(payload)["predicateType"] == RUN_FACTS


def test_model_signing_verifies_our_certificate_envelope(tmp_path: Path) -> None:
    from model_signing._signing import sign_certificate, sign_sigstore_pb

    pki = make_pki(tmp_path / "pki")
    signer = CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,))
    (tmp_path / "s.sig").write_bytes(sign_statement(_statement(), signer))
    signature = sign_sigstore_pb.Signature.read(tmp_path / "s.sig")
    verifier = sign_certificate.Verifier([pki.root])
    _, payload = verifier._verify_signed_content(signature)
    assert json.loads(payload)["subject"][0]["name"] == "model.skops"


def test_edited_statement_is_refused(tmp_path: Path) -> None:
    key = write_key(tmp_path / "key.pem")
    public = write_public_key(tmp_path / "key.pub", key)
    bundle = json.loads(sign_statement(_statement(), KeySigner(tmp_path / "key.pem")))
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["gate"]["verdict"] = "fail"
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(GateFailed, match="the bundle was changed"):
        verify_statement(json.dumps(bundle).encode(), PublicKeyVerifier(public))


def test_edited_certificate_statement_is_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    bundle = json.loads(
        sign_statement(_statement(), CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,)))
    )
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "e" * 64
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(GateFailed, match="the bundle was changed"):
        verify_statement(json.dumps(bundle).encode(), CertificateVerifier((pki.root,)))


def test_wrong_key_and_wrong_root(tmp_path: Path) -> None:
    write_key(tmp_path / "key.pem")
    other = write_public_key(tmp_path / "other.pub", write_key(tmp_path / "other.pem"))
    with pytest.raises(GateFailed, match="signed by another key"):
        verify_statement(
            sign_statement(_statement(), KeySigner(tmp_path / "key.pem")), PublicKeyVerifier(other)
        )
    pki = make_pki(tmp_path / "pki")
    stranger = make_pki(tmp_path / "stranger", "stranger")
    bundle = sign_statement(
        _statement(), CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,))
    )
    with pytest.raises(GateFailed, match="does not chain to the trusted certificates"):
        verify_statement(bundle, CertificateVerifier((stranger.root,)))


def test_method_mismatch(tmp_path: Path) -> None:
    key = write_key(tmp_path / "key.pem")
    public = write_public_key(tmp_path / "key.pub", key)
    bundle = sign_statement(_statement(), KeySigner(tmp_path / "key.pem"))
    with pytest.raises(GateFailed, match="made with a key, not a certificate chain"):
        verify_statement(bundle, CertificateVerifier((public,)))
    with pytest.raises(GateFailed, match=re.escape("made with a key, not keyless")):
        verify_statement(bundle, IdentityVerifier("a@example.com", "https://issuer.example"))


def test_garbage_bundle(tmp_path: Path) -> None:
    public = write_public_key(tmp_path / "key.pub", write_key(tmp_path / "key.pem"))
    for junk in (b"", b"{}", b"[1]", b'{"verificationMaterial": {}, "dsseEnvelope": {}}'):
        with pytest.raises(GateFailed) as failed:
            verify_statement(junk, PublicKeyVerifier(public))
        assert "\n" not in str(failed.value)


def test_a_statement_that_is_not_json_refuses_to_sign(tmp_path: Path) -> None:
    write_key(tmp_path / "key.pem")
    bad = Statement(_statement().subjects, RUN_FACTS, {"auc": math.nan})
    with pytest.raises(InputError, match="not plain JSON"):
        sign_statement(bad, KeySigner(tmp_path / "key.pem"))


@pytest.mark.parametrize(
    ("name", "digest", "reason"),
    [
        ("", "a" * 64, "name is empty"),
        ("x", "A" * 64, "64 lowercase hex"),
        ("x", "ab", "64 lowercase hex"),
    ],
)
def test_subject_is_checked(name: str, digest: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        Subject(name, digest)


def test_statement_needs_a_subject() -> None:
    with pytest.raises(InputError, match="at least one subject"):
        Statement((), RUN_FACTS, {})


def test_wrong_password_for_a_statement(tmp_path: Path) -> None:
    write_key(tmp_path / "key.pem", password="right")
    with pytest.raises(InputError) as failed:
        sign_statement(_statement(), KeySigner(tmp_path / "key.pem", CANARY_PASSWORD))
    assert "MODELCI_SIGNING_KEY_PASSWORD" in str(failed.value)
    assert CANARY_PASSWORD not in str(failed.value)


def test_keyless_refuses_a_bad_token_before_any_network() -> None:
    # Real keyless signing needs Fulcio and Rekor, unreachable here; what runs before them
    # (the token check) is the same code CI runs.
    with pytest.raises(InputError, match="the identity token is not a JWT"):
        sign_statement(_statement(), KeylessSigner("not-a-token"))


def test_keyless_model_signing_refuses_a_bad_token(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model")
    with pytest.raises(InputError, match="the identity token is not a JWT"):
        sign_model(model, KeylessSigner("not-a-token"), tmp_path / "m.sig")
    assert not (tmp_path / "m.sig").exists()


def test_sigstore_python_dsse_verifies_our_p256_envelope(tmp_path: Path) -> None:
    # sigstore-python has no public key-based verifier (its Verifier needs a Fulcio
    # certificate, an SCT and a log entry); its DSSE code checks our PAE and signature here.
    from sigstore import dsse
    from sigstore_models.intoto import Envelope

    key = write_key(tmp_path / "key.pem", ec.SECP256R1())
    bundle = json.loads(sign_statement(_statement(), KeySigner(tmp_path / "key.pem")))
    envelope = dsse.Envelope(Envelope.from_dict(bundle["dsseEnvelope"]))
    payload = dsse._verify(key.public_key(), envelope)
    assert json.loads(payload)["predicateType"] == RUN_FACTS
