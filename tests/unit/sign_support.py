"""Keys, certificate chains and model folders the signing tests make for themselves."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import REPO


def _corpora() -> Path:
    for candidate in (REPO.parent / "shared" / "corpora", Path("/work/shared/corpora")):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "corpora"


BUNDLES = _corpora() / "model-signing-bundles"
CORPUS_IDENTITY = "stefanb@us.ibm.com"
CORPUS_ISSUER = "https://sigstore.verify.ibm.com/oauth2"
CANARY_PASSWORD = "canary-Pa55word-7f3e1c"


def write_key(
    path: Path, curve: ec.EllipticCurve | None = None, password: str | None = None
) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(curve or ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return key


def openssl_key_pair(folder: Path, name: str = "key") -> tuple[Path, Path]:
    """A P-256 key pair made by openssl, not by the library modelci signs with: what a team
    brings from its own tooling."""
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(private)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "ec", "-in", str(private), "-pubout", "-out", str(public)],
        check=True, capture_output=True,
    )  # fmt: skip
    return private, public


def write_public_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


@dataclass(frozen=True)
class Pki:
    """root CA -> intermediate CA -> leaf, each as PEM files, plus the leaf's key."""

    root: Path
    intermediate: Path
    leaf: Path
    leaf_key: Path
    leaf_certificate: x509.Certificate


def make_pki(
    folder: Path,
    name: str = "pki",
    *,
    curve: ec.EllipticCurve | None = None,
    password: str | None = None,
) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = _certificate(f"{name} root", root_key, None, ca=True)
    int_key = ec.generate_private_key(ec.SECP256R1())
    intermediate = _certificate(
        f"{name} intermediate", int_key, (f"{name} root", root_key), ca=True
    )
    leaf_key_path = folder / f"{name}-leaf-key.pem"
    leaf_key = write_key(leaf_key_path, curve, password)
    leaf = _certificate(
        f"{name} model signer", leaf_key, (f"{name} intermediate", int_key), ca=False
    )
    return Pki(
        root=_pem(folder / f"{name}-root.pem", root),
        intermediate=_pem(folder / f"{name}-intermediate.pem", intermediate),
        leaf=_pem(folder / f"{name}-leaf.pem", leaf),
        leaf_key=leaf_key_path,
        leaf_certificate=leaf,
    )


def make_model(folder: Path) -> Path:
    """A small model folder: a binary, metadata, a nested file and requirements."""
    (folder / "sub").mkdir(parents=True)
    (folder / "model.skops").write_bytes(os.urandom(64 * 1024))
    (folder / "MLmodel").write_text("flavors:\n  sklearn: {}\n")
    (folder / "sub" / "weights.bin").write_bytes(os.urandom(4096))
    (folder / "requirements.txt").write_text("scikit-learn==1.5.0\n")
    return folder
