"""sign_model / verify_model with keys and certificate chains the tests make, and every
tamper case of issue 11 (keyless tamper cases run on the real bundles in
test_sign_corpora.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelci.errors import GateFailed, InputError
from modelci.signing import (
    CertificateSigner,
    CertificateVerifier,
    IdentityKind,
    KeySigner,
    PublicKeyVerifier,
    Signed,
    key_password,
    sign_model,
    verify_model,
)
from tests.unit.sign_support import (
    CANARY_PASSWORD,
    make_model,
    make_pki,
    write_key,
    write_public_key,
)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model")


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    key = write_key(tmp_path / "key.pem")
    return tmp_path / "key.pem", write_public_key(tmp_path / "key.pub", key)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["p256", "p384"])
def test_key_round_trip(tmp_path: Path, model: Path, curve: ec.EllipticCurve) -> None:
    key = write_key(tmp_path / "key.pem", curve)
    public = write_public_key(tmp_path / "key.pub", key)
    signature = tmp_path / "out" / "model.sig"
    signed = sign_model(model, KeySigner(tmp_path / "key.pem"), signature)
    assert signature.is_file()
    expected = {
        p.relative_to(model).as_posix(): _sha256(p) for p in model.rglob("*") if p.is_file()
    }
    assert dict(signed.digests) == expected
    assert signed.identity.kind is IdentityKind.KEY
    assert signed.model_digest.startswith("sha256:")
    verified = verify_model(model, signature, PublicKeyVerifier(public))
    assert dict(verified.digests) == expected
    assert verified.identity == signed.identity
    assert verified.model_digest == signed.model_digest


def test_key_identity_is_the_der_fingerprint(model: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key = write_key(tmp_path / "key.pem")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signed = sign_model(model, KeySigner(tmp_path / "key.pem"), tmp_path / "m.sig")
    assert signed.identity.name == "sha256:" + hashlib.sha256(der).hexdigest()


def test_certificate_round_trip(tmp_path: Path, model: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    signer = CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,))
    signed = sign_model(model, signer, tmp_path / "model.sig")
    assert signed.identity.kind is IdentityKind.CERTIFICATE
    assert signed.identity.name == "CN=pki model signer"
    assert signed.identity.issuer == "CN=pki intermediate"
    verified = verify_model(model, tmp_path / "model.sig", CertificateVerifier((pki.root,)))
    assert verified.identity == signed.identity
    assert verified.digests == signed.digests


def test_certificate_with_an_encrypted_key(tmp_path: Path, model: Path) -> None:
    pki = make_pki(tmp_path / "pki", password=CANARY_PASSWORD)
    password = key_password({"MODELCI_SIGNING_KEY_PASSWORD": CANARY_PASSWORD})
    signer = CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,), password)
    sign_model(model, signer, tmp_path / "model.sig")
    verify_model(model, tmp_path / "model.sig", CertificateVerifier((pki.root,)))
    assert CANARY_PASSWORD not in repr(signer)
    assert CANARY_PASSWORD.encode() not in (tmp_path / "model.sig").read_bytes()


def test_encrypted_key_round_trip(tmp_path: Path, model: Path) -> None:
    key = write_key(tmp_path / "key.pem", password=CANARY_PASSWORD)
    public = write_public_key(tmp_path / "key.pub", key)
    signer = KeySigner(tmp_path / "key.pem", CANARY_PASSWORD)
    sign_model(model, signer, tmp_path / "model.sig")
    verify_model(model, tmp_path / "model.sig", PublicKeyVerifier(public))


def test_signature_inside_the_model_folder_is_left_out(
    model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    signed = sign_model(model, KeySigner(private), model / "model.sig")
    assert "model.sig" not in signed.digests
    verify_model(model, model / "model.sig", PublicKeyVerifier(public))


def test_signature_copied_into_the_model_folder_later_is_left_out(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    sign_model(model, KeySigner(private), tmp_path / "model.sig")
    shutil.copy(tmp_path / "model.sig", model / "signature.json")
    verify_model(model, model / "signature.json", PublicKeyVerifier(public))


# --- tamper cases: each is GateFailed with one line saying what differs -------------------


def _flip_byte(model: Path) -> None:
    path = model / "model.skops"
    data = bytearray(path.read_bytes())
    data[1000] ^= 0x01
    path.write_bytes(bytes(data))


def _append(model: Path) -> None:
    with (model / "model.skops").open("ab") as handle:
        handle.write(b"\x00")


def _truncate(model: Path) -> None:
    path = model / "model.skops"
    path.write_bytes(path.read_bytes()[:-1])


def _empty(model: Path) -> None:
    (model / "requirements.txt").write_bytes(b"")


def _add(model: Path) -> None:
    (model / "extra.pkl").write_bytes(b"payload")


def _remove(model: Path) -> None:
    (model / "requirements.txt").unlink()


def _rename(model: Path) -> None:
    (model / "MLmodel").rename(model / "MLmodel.bak")


def _rename_folder(model: Path) -> None:
    (model / "sub").rename(model / "sub2")


def _new_symlink(model: Path) -> None:
    (model / "link.bin").symlink_to(model / "model.skops")


def _replace_by_symlink(model: Path) -> None:
    outside = model.parent / "evil.bin"
    shutil.copy(model / "sub" / "weights.bin", outside)
    (model / "sub" / "weights.bin").unlink()
    (model / "sub" / "weights.bin").symlink_to(outside)


TAMPERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "byte changed": (_flip_byte, "changed model.skops"),
    "appended to": (_append, "changed model.skops"),
    "truncated": (_truncate, "changed model.skops"),
    "emptied": (_empty, "changed requirements.txt"),
    "file added": (_add, "added extra.pkl"),
    "file removed": (_remove, "removed requirements.txt"),
    "file renamed": (_rename, "renamed MLmodel -> MLmodel.bak"),
    "folder renamed": (_rename_folder, "renamed sub/weights.bin -> sub2/weights.bin"),
    "new symlink": (_new_symlink, "link.bin is a symlink"),
    "file replaced by a symlink": (_replace_by_symlink, "sub/weights.bin is a symlink"),
}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_tampered_model_is_refused(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path], case: str
) -> None:
    private, public = keypair
    sign_model(model, KeySigner(private), tmp_path / "model.sig")
    tamper, reason = TAMPERS[case]
    tamper(model)
    with pytest.raises(GateFailed) as failed:
        verify_model(model, tmp_path / "model.sig", PublicKeyVerifier(public))
    assert "\n" not in str(failed.value)
    assert reason in str(failed.value)


@pytest.mark.parametrize("case", ["byte changed", "file added", "file replaced by a symlink"])
def test_tampered_model_is_refused_with_certificates(
    tmp_path: Path, model: Path, case: str
) -> None:
    pki = make_pki(tmp_path / "pki")
    sign_model(
        model, CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,)), tmp_path / "m.sig"
    )
    tamper, reason = TAMPERS[case]
    tamper(model)
    with pytest.raises(GateFailed, match=re.escape(reason)):
        verify_model(model, tmp_path / "m.sig", CertificateVerifier((pki.root,)))


def _edit_payload(bundle: dict[str, object]) -> None:
    envelope = bundle["dsseEnvelope"]
    assert isinstance(envelope, dict)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    resource = statement["predicate"]["resources"][0]
    resource["digest"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _edit_signature(bundle: dict[str, object]) -> None:
    envelope = bundle["dsseEnvelope"]
    assert isinstance(envelope, dict)
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[-1] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()


def _drop_envelope(bundle: dict[str, object]) -> None:
    del bundle["dsseEnvelope"]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_edit_payload, "the signature does not verify"),
        (_edit_signature, "the signature does not verify"),
        (_drop_envelope, "not a model signature"),
    ],
    ids=["payload", "signature", "envelope removed"],
)
def test_edited_bundle_is_refused(
    tmp_path: Path,
    model: Path,
    keypair: tuple[Path, Path],
    edit: Callable[[dict[str, object]], None],
    reason: str,
) -> None:
    private, public = keypair
    signature = tmp_path / "model.sig"
    sign_model(model, KeySigner(private), signature)
    bundle = json.loads(signature.read_text())
    edit(bundle)
    signature.write_text(json.dumps(bundle))
    with pytest.raises(GateFailed, match=re.escape(reason)):
        verify_model(model, signature, PublicKeyVerifier(public))


def test_bundle_that_is_not_json_is_refused(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    signature = tmp_path / "model.sig"
    sign_model(model, KeySigner(private), signature)
    signature.write_bytes(signature.read_bytes()[:-20])
    with pytest.raises(GateFailed, match="not a model signature: not JSON"):
        verify_model(model, signature, PublicKeyVerifier(public))


def test_bundle_from_another_model_is_refused(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    other = make_model(tmp_path / "other")
    sign_model(other, KeySigner(private), tmp_path / "other.sig")
    with pytest.raises(GateFailed, match=r"changed model\.skops"):
        verify_model(model, tmp_path / "other.sig", PublicKeyVerifier(public))


def test_wrong_key_is_refused(tmp_path: Path, model: Path, keypair: tuple[Path, Path]) -> None:
    private, _ = keypair
    other = write_public_key(tmp_path / "other.pub", write_key(tmp_path / "other.pem"))
    sign_model(model, KeySigner(private), tmp_path / "model.sig")
    with pytest.raises(GateFailed, match=r"signed by another key, not by .*other\.pub"):
        verify_model(model, tmp_path / "model.sig", PublicKeyVerifier(other))


def test_wrong_key_without_hint_is_refused(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    # Bundles from before model-signing 1.0 carry no key hint: the signature check decides.
    private, _ = keypair
    other = write_public_key(tmp_path / "other.pub", write_key(tmp_path / "other.pem"))
    signature = tmp_path / "model.sig"
    sign_model(model, KeySigner(private), signature)
    bundle = json.loads(signature.read_text())
    del bundle["verificationMaterial"]["publicKey"]["hint"]
    signature.write_text(json.dumps(bundle))
    with pytest.raises(GateFailed, match="the signature does not verify"):
        verify_model(model, signature, PublicKeyVerifier(other))


def test_wrong_trust_root_is_refused(tmp_path: Path, model: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    stranger = make_pki(tmp_path / "stranger", "stranger")
    sign_model(
        model, CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,)), tmp_path / "m.sig"
    )
    with pytest.raises(GateFailed, match="does not chain to the trusted certificates"):
        verify_model(model, tmp_path / "m.sig", CertificateVerifier((stranger.root,)))


def test_certificate_signature_needs_the_certificate_verifier(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    pki = make_pki(tmp_path / "pki")
    sign_model(
        model, CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,)), tmp_path / "m.sig"
    )
    with pytest.raises(GateFailed, match="made with a certificate chain, not a key"):
        verify_model(model, tmp_path / "m.sig", PublicKeyVerifier(keypair[1]))


# --- out of scope by design (docs/signing.md) ----------------------------------------------


def test_empty_folders_are_not_signed(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    sign_model(model, KeySigner(private), tmp_path / "model.sig")
    (model / "empty").mkdir()
    verify_model(model, tmp_path / "model.sig", PublicKeyVerifier(public))


def test_ignored_paths_are_not_signed(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    (model / "cache").mkdir()
    (model / "cache" / "scratch").write_text("a")
    signed = sign_model(model, KeySigner(private), tmp_path / "model.sig", ignore=[Path("cache")])
    assert not any(name.startswith("cache") for name in signed.digests)
    (model / "cache" / "scratch").write_text("b")
    (model / "cache" / "more").write_text("c")
    verify_model(model, tmp_path / "model.sig", PublicKeyVerifier(public))


def test_git_metadata_is_not_signed(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    (model / ".gitattributes").write_text("*.bin filter=lfs\n")
    signed = sign_model(model, KeySigner(private), tmp_path / "model.sig")
    assert ".gitattributes" not in signed.digests
    (model / ".gitattributes").write_text("changed\n")
    verify_model(model, tmp_path / "model.sig", PublicKeyVerifier(public))


def test_the_model_folder_name_is_not_signed(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    sign_model(model, KeySigner(private), tmp_path / "model.sig")
    moved = model.rename(tmp_path / "renamed-model")
    verify_model(moved, tmp_path / "model.sig", PublicKeyVerifier(public))


def test_verifier_may_ignore_more_paths(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    private, public = keypair
    sign_model(model, KeySigner(private), tmp_path / "model.sig")
    (model / "README.md").write_text("added after signing\n")
    verify_model(
        model, tmp_path / "model.sig", PublicKeyVerifier(public), ignore=[Path("README.md")]
    )


# --- bad input: InputError, one line naming the file or variable --------------------------


def _input_error(call: Callable[[], object]) -> str:
    with pytest.raises(InputError) as failed:
        call()
    message = str(failed.value)
    assert "\n" not in message
    assert failed.value.exit_code == 2
    return message


def test_missing_signature(tmp_path: Path, model: Path, keypair: tuple[Path, Path]) -> None:
    message = _input_error(
        lambda: verify_model(model, tmp_path / "nope.sig", PublicKeyVerifier(keypair[1]))
    )
    assert "nope.sig" in message
    assert "cannot read the signature" in message


def test_missing_public_key(tmp_path: Path, model: Path, keypair: tuple[Path, Path]) -> None:
    sign_model(model, KeySigner(keypair[0]), tmp_path / "model.sig")
    message = _input_error(
        lambda: verify_model(model, tmp_path / "model.sig", PublicKeyVerifier(tmp_path / "no.pub"))
    )
    assert "no.pub" in message


def test_missing_model_folder(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    message = _input_error(
        lambda: sign_model(tmp_path / "absent", KeySigner(keypair[0]), tmp_path / "m.sig")
    )
    assert "absent: the model folder does not exist" in message


def test_empty_model_folder(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    (tmp_path / "empty").mkdir()
    message = _input_error(
        lambda: sign_model(tmp_path / "empty", KeySigner(keypair[0]), tmp_path / "m.sig")
    )
    assert "no file to sign" in message
    assert not (tmp_path / "m.sig").exists()


def test_symlink_in_the_model_is_not_signed(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    (model / "link").symlink_to(model / "MLmodel")
    message = _input_error(lambda: sign_model(model, KeySigner(keypair[0]), tmp_path / "m.sig"))
    assert "link is a symlink" in message
    assert not (tmp_path / "m.sig").exists()


def test_bad_key_file(tmp_path: Path, model: Path) -> None:
    (tmp_path / "key.pem").write_text("not a key\n")
    message = _input_error(
        lambda: sign_model(model, KeySigner(tmp_path / "key.pem"), tmp_path / "m.sig")
    )
    assert "key.pem: not a PEM private key" in message


def test_missing_key_file(tmp_path: Path, model: Path) -> None:
    message = _input_error(
        lambda: sign_model(model, KeySigner(tmp_path / "gone.pem"), tmp_path / "m.sig")
    )
    assert "gone.pem: cannot read the private key" in message


def test_rsa_key_is_refused(tmp_path: Path, model: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    message = _input_error(
        lambda: sign_model(model, KeySigner(tmp_path / "rsa.pem"), tmp_path / "m.sig")
    )
    assert "an RSA key" in message


def test_certificate_for_another_key(tmp_path: Path, model: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    write_key(tmp_path / "other.pem")
    signer = CertificateSigner(tmp_path / "other.pem", pki.leaf, (pki.intermediate,))
    message = _input_error(lambda: sign_model(model, signer, tmp_path / "m.sig"))
    assert "is not for the private key" in message


def test_wrong_password_names_the_variable_never_the_password(tmp_path: Path, model: Path) -> None:
    write_key(tmp_path / "key.pem", password="the-right-one")
    signer = KeySigner(tmp_path / "key.pem", CANARY_PASSWORD)
    message = _input_error(lambda: sign_model(model, signer, tmp_path / "m.sig"))
    assert "MODELCI_SIGNING_KEY_PASSWORD" in message
    assert "wrong password" in message
    assert CANARY_PASSWORD not in message
    assert "the-right-one" not in message
    assert CANARY_PASSWORD not in repr(signer)


def test_encrypted_key_without_password(tmp_path: Path, model: Path) -> None:
    write_key(tmp_path / "key.pem", password=CANARY_PASSWORD)
    signer = KeySigner(tmp_path / "key.pem", key_password({}))
    message = _input_error(lambda: sign_model(model, signer, tmp_path / "m.sig"))
    assert "is encrypted: put its password in MODELCI_SIGNING_KEY_PASSWORD" in message


def test_password_for_a_clear_key(tmp_path: Path, model: Path) -> None:
    write_key(tmp_path / "key.pem")
    message = _input_error(
        lambda: sign_model(
            model, KeySigner(tmp_path / "key.pem", CANARY_PASSWORD), tmp_path / "m.sig"
        )
    )
    assert "not encrypted but MODELCI_SIGNING_KEY_PASSWORD is set" in message
    assert CANARY_PASSWORD not in message


def test_certificate_verifier_needs_a_root(tmp_path: Path, model: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    sign_model(
        model, CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,)), tmp_path / "m.sig"
    )
    message = _input_error(lambda: verify_model(model, tmp_path / "m.sig", CertificateVerifier(())))
    assert "no certificate to trust" in message


def test_a_failed_signing_leaves_no_signature(tmp_path: Path, model: Path) -> None:
    signature = tmp_path / "model.sig"
    signature.write_text("previous signature\n")
    (tmp_path / "key.pem").write_text("broken")
    with pytest.raises(InputError):
        sign_model(model, KeySigner(tmp_path / "key.pem"), signature)
    assert signature.read_text() == "previous signature\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem", "model", "model.sig"]


def test_signed_is_what_the_manifest_records(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    signed = sign_model(model, KeySigner(keypair[0]), tmp_path / "model.sig")
    assert isinstance(signed, Signed)
    assert [s.name for s in signed.subjects()] == sorted(signed.digests)
    with pytest.raises(TypeError):
        signed.digests["x"] = "y"  # type: ignore[index]


def test_the_password_appears_nowhere(
    tmp_path: Path, model: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A canary password through every path that sees it: success and failure, key and
    certificate, model and statement. It must not show in a message, output, log or file."""
    from modelci.errors import ModelciError
    from modelci.signing import KeylessSigner, Statement, sign_statement, subjects_for

    caplog.set_level("DEBUG")
    write_key(tmp_path / "good.pem", password=CANARY_PASSWORD)
    write_key(tmp_path / "other.pem", password="something-else")
    pki = make_pki(tmp_path / "pki", password=CANARY_PASSWORD)
    messages: list[str] = []
    good = KeySigner(tmp_path / "good.pem", CANARY_PASSWORD)
    bad = KeySigner(tmp_path / "other.pem", CANARY_PASSWORD)
    cert = CertificateSigner(pki.leaf_key, pki.leaf, (pki.intermediate,), CANARY_PASSWORD)
    statement = Statement(subjects_for({"m": "a" * 64}), "https://example.com/p", {})
    for call in (
        lambda: sign_model(model, good, tmp_path / "a.sig"),
        lambda: sign_model(model, cert, tmp_path / "b.sig"),
        lambda: sign_model(model, bad, tmp_path / "c.sig"),
        lambda: sign_model(tmp_path / "missing", good, tmp_path / "d.sig"),
        lambda: sign_statement(statement, good),
        lambda: sign_statement(statement, bad),
        lambda: sign_statement(statement, cert),
    ):
        try:
            call()
        except ModelciError as exc:
            messages.append(str(exc))
    messages += [repr(good), repr(cert), repr(KeylessSigner(CANARY_PASSWORD))]
    out, err = capfd.readouterr()
    written = b"".join(p.read_bytes() for p in tmp_path.glob("*.sig"))
    assert len(messages) == 6  # three failures and three reprs
    for text in [*messages, out, err, caplog.text]:
        assert CANARY_PASSWORD not in text
    assert CANARY_PASSWORD.encode() not in written


def test_digest_model_matches_what_is_signed(
    tmp_path: Path, model: Path, keypair: tuple[Path, Path]
) -> None:
    from modelci.signing import digest_model

    signed = sign_model(model, KeySigner(keypair[0]), model / "model.sig")
    assert digest_model(model, ignore=[Path("model.sig")]) == signed.digests
    (model / "link").symlink_to(model / "MLmodel")
    with pytest.raises(InputError, match="link is a symlink"):
        digest_model(model)
