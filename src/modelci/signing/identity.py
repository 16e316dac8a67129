"""Who signed: a key's fingerprint, a certificate's subject, or an OIDC identity and issuer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from cryptography.x509 import Certificate

# Fulcio's OIDC issuer extensions: v1 holds raw UTF-8, v2 a DER UTF8String.
_OIDC_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
_OIDC_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
# Fulcio's "other name" SAN for identities that are neither emails nor URIs.
_OTHERNAME_SAN = "1.3.6.1.4.1.57264.1.7"


class IdentityKind(StrEnum):
    KEY = "key"
    CERTIFICATE = "certificate"
    KEYLESS = "keyless"


@dataclass(frozen=True)
class SigningIdentity:
    """The signer of a model or statement, as the manifest records it.

    ``name`` is ``sha256:<hex>`` of the public key's DER SubjectPublicKeyInfo for a key
    (what ``openssl pkey -pubin -outform DER | sha256sum`` prints), the leaf certificate's
    subject (RFC 4514) for a certificate, and the OIDC identity (the certificate's SAN) for
    keyless signing. ``issuer`` is the leaf's issuer (RFC 4514) or the OIDC issuer URL.
    """

    kind: IdentityKind
    name: str
    issuer: str | None = None

    def __str__(self) -> str:
        if self.kind is IdentityKind.KEY:
            return f"key {self.name}"
        if self.kind is IdentityKind.CERTIFICATE:
            return f"certificate {self.name!r} issued by {self.issuer!r}"
        return f"{self.name} (issuer {self.issuer})"


def key_fingerprint(public_key: EllipticCurvePublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def key_identity(public_key: EllipticCurvePublicKey) -> SigningIdentity:
    return SigningIdentity(IdentityKind.KEY, key_fingerprint(public_key))


def certificate_identity(leaf: Certificate) -> SigningIdentity:
    return SigningIdentity(
        IdentityKind.CERTIFICATE, leaf.subject.rfc4514_string(), leaf.issuer.rfc4514_string()
    )


def keyless_identity(leaf: Certificate) -> SigningIdentity:
    """The OIDC identity and issuer Fulcio wrote into a keyless signing certificate."""
    from cryptography import x509

    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names: list[str] = []
    else:
        names = [*san.get_values_for_type(x509.RFC822Name)]
        names += san.get_values_for_type(x509.UniformResourceIdentifier)
        names += [
            other.value.decode("utf-8", "replace")
            for other in san.get_values_for_type(x509.OtherName)
            if other.type_id.dotted_string == _OTHERNAME_SAN
        ]
    return SigningIdentity(
        IdentityKind.KEYLESS, names[0] if names else "(no identity)", _oidc_issuer(leaf)
    )


def _oidc_issuer(leaf: Certificate) -> str | None:
    from cryptography import x509
    from cryptography.hazmat import asn1

    for oid in (_OIDC_ISSUER_V2, _OIDC_ISSUER_V1):
        try:
            ext = leaf.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value
        except x509.ExtensionNotFound:
            continue
        raw = ext.value if isinstance(ext, x509.UnrecognizedExtension) else b""
        if oid == _OIDC_ISSUER_V1:
            return raw.decode("utf-8", "replace")
        try:
            return str(asn1.decode_der(str, raw))
        except ValueError:
            continue
    return None
