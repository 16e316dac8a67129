"""How to sign and how to verify, from the project's settings and the environment.

The method comes from configuration (``sign.*``, ``verify.*``: the repository, ``MODELCI_*``
variables, flags), never from the run folder: what a signature must be checked against is
not something the artifact being checked may choose. A key's password comes only from
``MODELCI_SIGNING_KEY_PASSWORD``; a keyless identity token only from the CI.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from modelci.config import Config
from modelci.errors import InputError
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
from modelci.signing.token import TOKEN_VARIABLE, identity_token

#: the file MLflow writes into a model it downloads from the registry: not the model
REGISTRY_META = "registered_model_meta"


def _paths(config: Config, key: str) -> tuple[Path, ...]:
    found = (config.path(key, item) for item in config.get(key) or [])
    return tuple(path for path in found if path is not None)


def keyless_available(env: Mapping[str, str]) -> bool:
    """Whether this job can get an OIDC identity token for keyless signing."""
    github = env.get("ACTIONS_ID_TOKEN_REQUEST_URL") and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    return bool(env.get(TOKEN_VARIABLE) or github)


def configured_signer(config: Config, env: Mapping[str, str]) -> Signer | None:
    """The signing method the settings name; ``None`` when none is configured (method
    ``auto`` with no key, no certificate and no identity token in the environment)."""
    method = str(config.get("sign.method") or "auto")
    key = config.path("sign.private_key")
    certificate = config.path("sign.certificate")
    if method == "certificate" or (method == "auto" and certificate is not None):
        if key is None or certificate is None:
            raise InputError(
                f"{config.where('sign.method')}: certificate signing needs --private-key and "
                "--certificate (and --certificate-chain up to the root)"
            )
        chain = _paths(config, "sign.certificate_chain")
        return CertificateSigner(key, certificate, chain, key_password(env))
    if method == "key" or (method == "auto" and key is not None):
        if key is None:
            raise InputError(
                f"{config.where('sign.method')}: key signing needs --private-key PEM "
                "(its password, if any, in MODELCI_SIGNING_KEY_PASSWORD)"
            )
        return KeySigner(key, key_password(env))
    if method == "keyless" or (method == "auto" and keyless_available(env)):
        trust = config.path("verify.trust_config")
        return KeylessSigner(identity_token(env), trust)
    return None


def configured_verifier(config: Config) -> Verifier | None:
    """The verification the settings name (one of them); ``None`` when none is."""
    public_key = config.path("verify.public_key")
    chain = _paths(config, "verify.certificate_chain")
    identity, issuer = config.get("verify.identity"), config.get("verify.issuer")
    ways = (("--public-key", public_key), ("--certificate-chain", chain), ("--identity", issuer))
    given = [name for name, value in ways if value or (name == "--identity" and identity)]
    if len(given) > 1:
        raise InputError(
            f"verify: {' and '.join(given)} are different ways to verify; pass one of them"
        )
    if public_key is not None:
        return PublicKeyVerifier(public_key)
    if chain:
        return CertificateVerifier(chain)
    if identity or issuer:
        if not (identity and issuer):
            missing = "--issuer" if identity else "--identity"
            raise InputError(f"verify: keyless verification needs {missing} too")
        return IdentityVerifier(str(identity), str(issuer), config.path("verify.trust_config"))
    return None


def required_verifier(config: Config, why: str) -> Verifier:
    """The configured verifier, or an input error saying how to configure one."""
    found = configured_verifier(config)
    if found is None:
        raise InputError(
            f"{why}: say how to verify it: verify.public_key, verify.certificate_chain, or "
            "verify.identity and verify.issuer (keyless), in modelci.yaml or the environment "
            "(MODELCI_VERIFY__PUBLIC_KEY, ...); modelci verify also takes --public-key, "
            "--certificate-chain, --identity and --issuer"
        )
    return found


def ignored(config: Config) -> tuple[Path, ...]:
    """Files of a model folder verification leaves out (relative to the folder)."""
    return (Path(REGISTRY_META), *(Path(p) for p in config.get("verify.ignore") or []))
