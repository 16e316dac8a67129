"""Signing and verifying models and in-toto statements (``sign`` and ``verify`` steps).

Models are signed by OpenSSF model-signing; statements (run facts, provenance) are signed
with the same methods into the same Sigstore bundle format. See docs/signing.md.
"""

from modelci.signing.identity import IdentityKind, SigningIdentity
from modelci.signing.keys import PASSWORD_VARIABLE
from modelci.signing.methods import (
    CertificateSigner,
    CertificateVerifier,
    IdentityVerifier,
    KeylessSigner,
    KeySigner,
    PublicKeyVerifier,
    Signer,
    Verifier,
    key_password,
)
from modelci.signing.model import Signed, Verified, digest_model, sign_model, verify_model
from modelci.signing.statement import (
    Statement,
    Subject,
    VerifiedStatement,
    sign_statement,
    subjects_for,
    verify_statement,
)
from modelci.signing.token import (
    GITHUB_PERMISSION,
    GITLAB_ID_TOKENS,
    TOKEN_VARIABLE,
    identity_token,
)

__all__ = [
    "GITHUB_PERMISSION",
    "GITLAB_ID_TOKENS",
    "PASSWORD_VARIABLE",
    "TOKEN_VARIABLE",
    "CertificateSigner",
    "CertificateVerifier",
    "IdentityKind",
    "IdentityVerifier",
    "KeySigner",
    "KeylessSigner",
    "PublicKeyVerifier",
    "Signed",
    "Signer",
    "SigningIdentity",
    "Statement",
    "Subject",
    "Verified",
    "VerifiedStatement",
    "Verifier",
    "digest_model",
    "identity_token",
    "key_password",
    "sign_model",
    "sign_statement",
    "subjects_for",
    "verify_model",
    "verify_statement",
]
