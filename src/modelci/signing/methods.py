"""How to sign and how to verify: one frozen dataclass per method.

The same method objects sign a model (``sign_model``) and a statement (``sign_statement``),
so the run facts and the provenance are signed exactly like the model they describe.
Secrets (a key's password, an identity token) are kept out of ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from modelci.signing.keys import PASSWORD_VARIABLE


@dataclass(frozen=True)
class KeySigner:
    """An EC private key (PEM, P-256/P-384/P-521); its password from ``key_password``."""

    private_key: Path
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CertificateSigner:
    """An EC private key with its signing certificate and the chain up to (not always
    including) the root the verifier trusts."""

    private_key: Path
    signing_certificate: Path
    certificate_chain: tuple[Path, ...] = ()
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class KeylessSigner:
    """Sigstore keyless signing with the CI's OIDC token (see ``identity_token``).

    ``trust_config`` is a Sigstore client trust config (JSON) naming another Sigstore
    instance; without it the public instance is used, its trust root refreshed over TUF.
    """

    identity_token: str = field(repr=False)
    trust_config: Path | None = None


@dataclass(frozen=True)
class PublicKeyVerifier:
    public_key: Path


@dataclass(frozen=True)
class CertificateVerifier:
    """The certificates to trust (PEM files: the root, and intermediates if the bundle does
    not carry them). Never empty: a signature is not trusted through the web's CAs."""

    certificate_chain: tuple[Path, ...]


@dataclass(frozen=True)
class IdentityVerifier:
    """A keyless signature by ``identity`` (the certificate's SAN: an email, or a workflow
    URI) whose token came from ``issuer``.

    ``trust_config`` is a Sigstore client trust config (JSON) for another instance; without
    it the public instance's trust root bundled in sigstore-python is used, offline.
    """

    identity: str
    issuer: str
    trust_config: Path | None = None


Signer = KeySigner | CertificateSigner | KeylessSigner
Verifier = PublicKeyVerifier | CertificateVerifier | IdentityVerifier


def key_password(env: Mapping[str, str]) -> str | None:
    """The private key's password, from ``MODELCI_SIGNING_KEY_PASSWORD`` only: a password
    never comes from a flag or a config file, where a log or a diff would show it."""
    return env.get(PASSWORD_VARIABLE) or None


_KINDS = {
    PublicKeyVerifier: ("a key", "--public-key"),
    CertificateVerifier: ("a certificate chain", "--certificate-chain"),
    IdentityVerifier: ("keyless (a Sigstore certificate)", "--identity and --issuer"),
}


def method_mismatch(signed_with: str, verifier: Verifier) -> str | None:
    """Why ``verifier`` cannot check a signature made with ``signed_with`` (a bundle's
    ``Material.kind``), naming the way that can; ``None`` when it fits."""
    wanted, _ = _KINDS[type(verifier)]
    if signed_with == wanted:
        return None
    flag = next((f for kind, f in _KINDS.values() if kind == signed_with), "another method")
    return f"the signature was made with {signed_with}, not {wanted}: verify it with {flag}"
