"""Signed in-toto v1 statements about a model: the run facts, the SLSA provenance.

A statement is signed with the same methods as the model and lands in the same format: a
Sigstore bundle holding a DSSE envelope of the statement. Keyless statements are signed and
verified by sigstore-python's public API (``Signer.sign_dsse``, ``Verifier.verify_dsse``),
so any Sigstore client verifies them. Key and certificate statements are enveloped by
``modelci.signing.envelope`` (no public API signs them) and verified here the way
model-signing verifies its own key and certificate bundles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from modelci.errors import GateFailed, InfraError, InputError, first_line
from modelci.signing import envelope, keys, trust
from modelci.signing.changes import describe_changes
from modelci.signing.identity import (
    SigningIdentity,
    certificate_identity,
    key_identity,
    keyless_identity,
)
from modelci.signing.methods import (
    CertificateVerifier,
    IdentityVerifier,
    KeylessSigner,
    KeySigner,
    PublicKeyVerifier,
    Signer,
    Verifier,
    method_mismatch,
)

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"

JsonValue: TypeAlias = (
    bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Subject:
    """An artifact the statement is about: a model file's path and its sha256 (hex)."""

    name: str
    sha256: str

    def __post_init__(self) -> None:
        if not self.name:
            raise InputError("statement subject: the name is empty")
        if not _SHA256.match(self.sha256):
            raise InputError(
                f"statement subject {self.name!r}: sha256 must be 64 lowercase hex digits"
            )


@dataclass(frozen=True)
class Statement:
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Mapping[str, JsonValue]

    def __post_init__(self) -> None:
        if not self.subjects:
            raise InputError("statement: at least one subject is needed")
        if not self.predicate_type:
            raise InputError("statement: the predicate type is empty")

    def to_json(self) -> bytes:
        """The signed payload: compact JSON, keys sorted, so the same statement always
        signs the same bytes."""
        document = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": s.name, "digest": {"sha256": s.sha256}} for s in self.subjects],
            "predicateType": self.predicate_type,
            "predicate": self.predicate,
        }
        try:
            text = json.dumps(
                document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"statement predicate is not plain JSON: {exc}") from None
        return text.encode("utf-8")

    @classmethod
    def from_json(cls, payload: bytes) -> Statement:
        """Reads a payload back; raises ``ValueError`` saying why it is no in-toto v1
        statement with sha256 subjects."""
        try:
            document = json.loads(payload)
        except ValueError as exc:
            raise ValueError(f"the payload is not JSON: {exc}") from None
        if not isinstance(document, dict) or document.get("_type") != STATEMENT_TYPE:
            raise ValueError(f"the payload is not an in-toto statement of type {STATEMENT_TYPE}")
        subjects = document.get("subject")
        predicate = document.get("predicate", {})
        predicate_type = document.get("predicateType")
        if not isinstance(subjects, list) or not isinstance(predicate_type, str):
            raise ValueError("the statement has no subject list or no predicateType")
        if not isinstance(predicate, dict):
            raise ValueError("the statement's predicate is not an object")
        try:
            parsed = tuple(Subject(str(s["name"]), str(s["digest"]["sha256"])) for s in subjects)
            return cls(parsed, predicate_type, predicate)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a statement subject has no name or sha256 ({exc})") from None
        except InputError as exc:
            raise ValueError(str(exc)) from None

    def subject_digests(self) -> dict[str, str]:
        return {s.name: s.sha256 for s in self.subjects}


def subjects_for(digests: Mapping[str, str]) -> tuple[Subject, ...]:
    """Subjects for model files, ``{relative posix path: sha256 hex}``, sorted by path:
    pass ``Signed.digests`` so the statement covers exactly what the model signature does."""
    return tuple(Subject(name, digests[name]) for name in sorted(digests))


@dataclass(frozen=True)
class VerifiedStatement:
    statement: Statement
    identity: SigningIdentity

    def require_subjects(self, digests: Mapping[str, str], what: str = "the model") -> None:
        """Fails unless the statement's subjects are exactly ``digests`` (path → sha256)."""
        signed = self.statement.subject_digests()
        if signed != dict(digests):
            raise GateFailed(
                f"the signed statement is not about {what}: "
                f"{describe_changes(signed, dict(digests))}"
            )


def sign_statement(statement: Statement, signer: Signer) -> bytes:
    """A Sigstore bundle (JSON bytes) of a DSSE envelope holding ``statement``."""
    payload = statement.to_json()
    if isinstance(signer, KeylessSigner):
        return _sign_keyless(payload, signer)
    key = keys.load_private_key(signer.private_key, signer.password)
    if isinstance(signer, KeySigner):
        return envelope.sign(payload, key)
    leaf = keys.load_certificates([signer.signing_certificate], "signing certificate")[0]
    keys.check_key_pair(key, leaf, signer.private_key, signer.signing_certificate)
    chain = keys.load_certificates(signer.certificate_chain, "certificate chain")
    return envelope.sign(payload, key, [leaf, *chain])


def _sign_keyless(payload: bytes, signer: KeylessSigner) -> bytes:
    from sigstore import dsse
    from sigstore.models import ClientTrustConfig
    from sigstore.sign import SigningContext

    from modelci.signing.token import checked_token

    token = checked_token(signer.identity_token, "the identity token")
    try:
        config = (
            trust.load(signer.trust_config)
            if signer.trust_config is not None
            else ClientTrustConfig.production()
        )
        context = SigningContext.from_trust_config(config)
        with context.signer(token) as sigstore_signer:
            bundle = sigstore_signer.sign_dsse(dsse.Statement(payload))
    except InputError:
        raise
    except Exception as exc:  # network, TUF, Fulcio and Rekor refusals all land here
        raise InfraError(f"keyless signing with Sigstore failed: {first_line(exc, 200)}") from None
    return bundle.to_json().encode("utf-8")


def verify_statement(bundle: bytes, verifier: Verifier) -> VerifiedStatement:
    """The statement in ``bundle`` and who signed it; ``GateFailed`` with one line unless
    the bundle is signed by what ``verifier`` trusts."""
    try:
        read = envelope.read(bundle)
    except ValueError as exc:
        raise GateFailed(f"the statement bundle is unusable: {exc}") from None
    if mismatch := method_mismatch(read.material.kind, verifier):
        raise GateFailed(mismatch)
    if isinstance(verifier, IdentityVerifier):
        payload_type, payload, identity = _verify_keyless(bundle, verifier)
    else:
        identity = _verify_traditional(read, verifier)
        payload_type, payload = read.payload_type, read.payload
    if payload_type != envelope.IN_TOTO_PAYLOAD_TYPE:
        raise GateFailed(f"the signed payload is {payload_type!r}, not an in-toto statement")
    try:
        statement = Statement.from_json(payload)
    except ValueError as exc:
        raise GateFailed(f"the signed payload is unusable: {exc}") from None
    return VerifiedStatement(statement, identity)


def _verify_traditional(
    read: envelope.Envelope, verifier: PublicKeyVerifier | CertificateVerifier
) -> SigningIdentity:
    if isinstance(verifier, PublicKeyVerifier):
        public_key = keys.load_public_key(verifier.public_key)
        if read.material.key_hint not in (None, envelope.key_hint(public_key)):
            raise GateFailed(f"signed by another key, not by {verifier.public_key}")
        if not envelope.verify_signature(read, public_key):
            raise GateFailed(
                f"the signature does not verify with {verifier.public_key}: "
                "the bundle was changed or signed by another key"
            )
        return key_identity(public_key)
    trusted = _trusted_certificates(verifier)
    leaf, *intermediates = read.material.certificates
    keys.verify_chain(leaf, intermediates, trusted)
    from cryptography.hazmat.primitives.asymmetric import ec

    leaf_key = leaf.public_key()
    if not isinstance(leaf_key, ec.EllipticCurvePublicKey):
        raise GateFailed("the signing certificate's key is not an EC key")
    if not envelope.verify_signature(read, leaf_key):
        raise GateFailed(
            "the signature does not verify with its signing certificate: the bundle was changed"
        )
    return certificate_identity(leaf)


def _trusted_certificates(verifier: CertificateVerifier) -> list[Certificate]:
    if not verifier.certificate_chain:
        raise InputError("no certificate to trust: give the root certificate (PEM) to verify with")
    return keys.load_certificates(verifier.certificate_chain, "certificate chain")


def _verify_keyless(
    bundle: bytes, verifier: IdentityVerifier
) -> tuple[str, bytes, SigningIdentity]:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle
    from sigstore.verify import Verifier as SigstoreVerifier
    from sigstore.verify.policy import Identity

    config = trust.load(verifier.trust_config)
    try:
        parsed = Bundle.from_json(bundle)
    except Exception as exc:  # sigstore and pydantic refuse a changed bundle in many ways
        raise GateFailed(f"the statement bundle is unusable: {first_line(exc, 200)}") from None
    signer = keyless_identity(parsed.signing_certificate)
    try:
        payload_type, payload = SigstoreVerifier(trusted_root=config.trusted_root).verify_dsse(
            parsed, Identity(identity=verifier.identity, issuer=verifier.issuer)
        )
    except SigstoreError as exc:
        raise GateFailed(keyless_failure(signer, verifier, exc)) from None
    return payload_type, payload, signer


def keyless_failure(signer: SigningIdentity, verifier: IdentityVerifier, exc: BaseException) -> str:
    """One line on why a keyless signature was refused: the identity, the issuer, or the
    trust root."""
    # The certificate is not verified yet: say what it names, not who signed.
    if signer.name != verifier.identity:
        return f"the signing certificate is for {signer.name}, not for {verifier.identity}"
    if signer.issuer != verifier.issuer:
        return (
            f"the signing certificate is for a token from {signer.issuer}, "
            f"not from {verifier.issuer}"
        )
    from sigstore.errors import CertValidationError

    text = first_line(exc, 200)
    if text.startswith("DSSE:") or "does not match bundle" in text or "inconsistent" in text:
        return f"the signature does not verify ({text}): the bundle was changed"
    if isinstance(exc, CertValidationError) or "SCT" in text or "log entry" in text:
        return (
            f"the signature by {signer} is not trusted by "
            f"{trust.describe(verifier.trust_config)}: {text}"
        )
    return f"the signature by {signer} does not verify: {text}"
