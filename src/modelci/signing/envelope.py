"""DSSE envelopes in Sigstore bundles, for the methods no public API signs statements with.

sigstore-python signs DSSE only keylessly, and model-signing's key and certificate signers
sign only its own model payload. For a statement signed by a key or a certificate modelci
therefore builds the envelope itself, and this module is all of that:

- the pre-authentication encoding of the DSSE v1 protocol
  (https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md);
- an ECDSA signature over it with ``cryptography``, hashed as Sigstore pairs hash and
  curve (SHA-256 for P-256, SHA-384 for P-384, SHA-512 for P-521), as model-signing does;
- a Sigstore bundle v0.3 built from sigstore-models' public types, shaped as model-signing
  shapes its own key and certificate bundles (a ``publicKey`` hint that is the sha256 of
  the PEM public key, or an ``x509CertificateChain`` leaf first; no transparency log
  entry), so one reader handles both.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )
    from cryptography.x509 import Certificate

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUNDLE_MEDIA_TYPE: Final[Literal["application/vnd.dev.sigstore.bundle.v0.3+json"]] = (
    "application/vnd.dev.sigstore.bundle.v0.3+json"
)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 SP len(type) SP type SP len(body) SP body, lengths as ASCII decimals."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def key_hint(public_key: EllipticCurvePublicKey) -> str:
    """The key hint model-signing writes and checks: sha256 of the PEM public key."""
    from cryptography.hazmat.primitives import serialization

    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(pem).hexdigest()


@dataclass(frozen=True)
class Material:
    """What a bundle says about its signer, before anything is verified."""

    key_hint: str | None
    certificates: tuple[Certificate, ...]  # leaf first; one for keyless, a chain otherwise
    keyless: bool

    @property
    def kind(self) -> str:
        if self.keyless:
            return "keyless (a Sigstore certificate)"
        return "a certificate chain" if self.certificates else "a key"


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signature: bytes
    material: Material


def sign(
    payload: bytes,
    key: EllipticCurvePrivateKey,
    certificates: Sequence[Certificate] = (),
) -> bytes:
    """A bundle of ``payload`` signed by ``key``: by key alone, or with its certificate
    chain (leaf first) when ``certificates`` is given."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from sigstore_models import intoto
    from sigstore_models.bundle import v1 as bundle_v1
    from sigstore_models.common import v1 as common_v1

    from modelci.signing.keys import signature_hash

    public_key = key.public_key()
    signature = key.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload), ec.ECDSA(signature_hash(public_key)))
    if certificates:
        material = bundle_v1.VerificationMaterial(
            x509_certificate_chain=common_v1.X509CertificateChain(
                certificates=[
                    common_v1.X509Certificate(
                        raw_bytes=base64.b64encode(c.public_bytes(serialization.Encoding.DER))
                    )
                    for c in certificates
                ]
            ),
            tlog_entries=[],
        )
    else:
        material = bundle_v1.VerificationMaterial(
            public_key=common_v1.PublicKeyIdentifier(hint=key_hint(public_key)),
            tlog_entries=[],
        )
    bundle = bundle_v1.Bundle(
        media_type=BUNDLE_MEDIA_TYPE,
        verification_material=material,
        dsse_envelope=intoto.Envelope(
            payload=base64.b64encode(payload),
            payload_type=IN_TOTO_PAYLOAD_TYPE,
            signatures=[intoto.Signature(sig=base64.b64encode(signature), keyid="")],
        ),
    )
    return bundle.to_json().encode("utf-8")


def read(data: bytes) -> Envelope:
    """The DSSE envelope and signer material of a Sigstore bundle, unverified.

    Raises ``ValueError`` saying what is wrong when ``data`` is no such bundle.
    """
    import json

    from cryptography import x509

    try:
        document = json.loads(data)
        material = document["verificationMaterial"]
        dsse = document["dsseEnvelope"]
        signatures = dsse["signatures"]
        if len(signatures) != 1:
            raise ValueError(f"{len(signatures)} signatures in the envelope, not 1")
        payload = base64.b64decode(dsse["payload"], validate=True)
        signature = base64.b64decode(signatures[0]["sig"], validate=True)
        payload_type = str(dsse["payloadType"])
        if "certificate" in material:
            raws = [material["certificate"]["rawBytes"]]
        elif "x509CertificateChain" in material:
            raws = [c["rawBytes"] for c in material["x509CertificateChain"]["certificates"]]
        else:
            raws = []
        certificates = tuple(
            x509.load_der_x509_certificate(base64.b64decode(raw, validate=True)) for raw in raws
        )
        hint = material.get("publicKey", {}).get("hint") if not raws else None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"not a Sigstore bundle with a DSSE envelope (no {exc})") from None
    except ValueError as exc:
        raise ValueError(f"not a valid Sigstore bundle: {exc}") from None
    if "publicKey" not in material and not certificates:
        raise ValueError("the bundle names neither a key nor a certificate")
    return Envelope(
        payload_type,
        payload,
        signature,
        Material(hint if isinstance(hint, str) else None, certificates, "certificate" in material),
    )


def verify_signature(envelope: Envelope, public_key: EllipticCurvePublicKey) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec

    from modelci.signing.keys import signature_hash

    try:
        public_key.verify(
            envelope.signature,
            pae(envelope.payload_type, envelope.payload),
            ec.ECDSA(signature_hash(public_key)),
        )
    except InvalidSignature:
        return False
    return True
