"""Reading keys and certificates for signing, with errors that name the file at fault.

model-signing reads the same files again itself; reading them here first turns a wrong
password, a non-EC key or a broken PEM into one line that says what to fix, before any
hashing starts. The password's value never appears in a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from modelci.errors import GateFailed, InputError, first_line

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )
    from cryptography.hazmat.primitives.hashes import HashAlgorithm
    from cryptography.x509 import Certificate

PASSWORD_VARIABLE = "MODELCI_SIGNING_KEY_PASSWORD"  # noqa: S105 (a name, not a secret)

# The curves model-signing accepts, each with the hash Sigstore's key details pair it with.
_CURVE_HASHES = {"secp256r1": "SHA256", "secp384r1": "SHA384", "secp521r1": "SHA512"}


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def load_private_key(path: Path, password: str | None) -> EllipticCurvePrivateKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = _read(path, "private key")
    secret = password.encode("utf-8") if password else None
    try:
        key = serialization.load_pem_private_key(data, secret)
    except TypeError:
        if secret is None:
            raise InputError(
                f"{path}: the private key is encrypted: put its password in {PASSWORD_VARIABLE}"
            ) from None
        raise InputError(
            f"{path}: the private key is not encrypted but {PASSWORD_VARIABLE} is set: unset it"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        if secret is not None and b"ENCRYPTED" in data:
            raise InputError(
                f"{path}: cannot decrypt the private key with the password in "
                f"{PASSWORD_VARIABLE}: wrong password"
            ) from None
        raise InputError(f"{path}: not a PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"{path}: {_kind(key)} key; model-signing signs with EC keys only")
    _check_curve(key.public_key(), path)
    return key


def load_public_key(path: Path) -> EllipticCurvePublicKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise InputError(f"{path}: not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InputError(f"{path}: {_kind(key)} key; model-signing verifies EC keys only")
    _check_curve(key, path)
    return key


def load_certificates(paths: Sequence[Path], what: str) -> list[Certificate]:
    from cryptography import x509

    certificates: list[Certificate] = []
    for path in paths:
        try:
            certificates += x509.load_pem_x509_certificates(_read(path, what))
        except ValueError:
            raise InputError(f"{path}: not a PEM {what}") from None
    return certificates


def signature_hash(public_key: EllipticCurvePublicKey) -> HashAlgorithm:
    from cryptography.hazmat.primitives import hashes

    algorithm: HashAlgorithm = getattr(hashes, _CURVE_HASHES[public_key.curve.name])()
    return algorithm


def check_key_pair(
    key: EllipticCurvePrivateKey, certificate: Certificate, key_path: Path, cert_path: Path
) -> None:
    if certificate.public_key() != key.public_key():
        raise InputError(f"{cert_path}: the certificate is not for the private key {key_path}")


def verify_chain(
    leaf: Certificate, intermediates: Sequence[Certificate], trusted: Sequence[Certificate]
) -> None:
    """Checks ``leaf`` the way model-signing's certificate verifier does, so a chain that
    verifies a model also verifies a statement: the path to a trusted certificate is valid
    at the leaf's notBefore (a bundle carries no timestamp), and the leaf may sign code."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from OpenSSL import crypto

    store = crypto.X509Store()
    for certificate in trusted:
        store.add_cert(crypto.X509.from_cryptography(certificate))
    store.set_time(leaf.not_valid_before_utc)
    context = crypto.X509StoreContext(
        store,
        crypto.X509.from_cryptography(leaf),
        [crypto.X509.from_cryptography(c) for c in intermediates],
    )
    try:
        context.verify_certificate()
    except crypto.X509StoreContextError as exc:
        raise GateFailed(
            f"the signing certificate {leaf.subject.rfc4514_string()!r} does not chain to "
            f"the trusted certificates: {first_line(exc)}"
        ) from None
    extensions = leaf.extensions
    try:
        if extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            return
    except x509.ExtensionNotFound:
        pass
    try:
        if (
            ExtendedKeyUsageOID.CODE_SIGNING
            in extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        ):
            return
    except x509.ExtensionNotFound:
        pass
    raise GateFailed(
        f"the signing certificate {leaf.subject.rfc4514_string()!r} may not sign "
        "(neither digitalSignature key usage nor codeSigning extended key usage)"
    )


def _check_curve(key: EllipticCurvePublicKey, path: Path) -> None:
    if key.curve.name not in _CURVE_HASHES:
        raise InputError(
            f"{path}: EC curve {key.curve.name} is not supported; use P-256, P-384 or P-521"
        )


def _kind(key: object) -> str:
    name = type(key).__name__.removeprefix("_")
    for family in ("RSA", "DSA", "Ed25519", "Ed448", "X25519", "X448", "DH"):
        if name.startswith(family):
            return f"an {family}" if family[0] in "ERX" else f"a {family}"
    return f"a {name}"
