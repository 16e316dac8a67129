"""Sign and verify a model folder with OpenSSF model-signing's public API.

model-signing hashes every file (in parallel, per file, sha256) and writes the Sigstore
bundle; it verifies the bundle and re-hashes the model. modelci adds what a gate needs:
errors that name the file to fix, the signed per-file digests read back from the bundle
model-signing wrote (so ``sign`` and ``provenance`` state the same digests), who signed,
a signature written whole or not at all, and a one-line reason for every refusal.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from modelci import fsutil
from modelci.digests import combine
from modelci.errors import GateFailed, InfraError, InputError, ModelciError, first_line
from modelci.signing import envelope, keys, trust
from modelci.signing.changes import describe_changes
from modelci.signing.identity import (
    SigningIdentity,
    certificate_identity,
    key_identity,
    keyless_identity,
)
from modelci.signing.methods import (
    CertificateSigner,
    CertificateVerifier,
    IdentityVerifier,
    KeylessSigner,
    KeySigner,
    PublicKeyVerifier,
    Signer,
    Verifier,
    method_mismatch,
)
from modelci.signing.statement import Subject, keyless_failure, subjects_for

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from model_signing.hashing import Config as HashingConfig
    from model_signing.signing import Config as SigningConfig

MODEL_PREDICATE = "https://model_signing/signature/v1.0"
# Hash whole files, one per thread: per-file sha256 is what provenance subjects need, and
# hashlib releases the GIL, so threads use every core (see bench/README.md for the choice).
HASH_WORKERS = max(2, os.cpu_count() or 1)
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Signed:
    """A signed model: the bundle written, the digests signed, and who signed."""

    signature: Path
    digests: Mapping[str, str]  # relative posix path -> sha256 hex, as signed
    identity: SigningIdentity

    @property
    def model_digest(self) -> str:
        """``sha256:<hex>`` of the ``sha256sum``-style listing of the signed files."""
        return combine(dict(self.digests))

    def subjects(self) -> tuple[Subject, ...]:
        return subjects_for(self.digests)


@dataclass(frozen=True)
class Verified:
    """A model that matches its signature, the digests it matched, and who signed."""

    signature: Path
    digests: Mapping[str, str]
    identity: SigningIdentity

    @property
    def model_digest(self) -> str:
        return combine(dict(self.digests))

    def subjects(self) -> tuple[Subject, ...]:
        return subjects_for(self.digests)


@dataclass(frozen=True)
class _Bundle:
    """A model-signing bundle read before verification (only trusted once verified)."""

    material: envelope.Material
    digests: Mapping[str, str]


def sign_model(
    model_dir: Path, signer: Signer, signature: Path, *, ignore: Sequence[Path] = ()
) -> Signed:
    """Signs every file of ``model_dir`` (but ``ignore``, the signature itself and git
    metadata) into the Sigstore bundle ``signature``."""
    from model_signing import signing

    model_dir = _model_folder(model_dir)
    config = signing.Config().set_hashing_config(_hashing(_ignored(model_dir, ignore, signature)))
    with (
        tempfile.TemporaryDirectory(prefix="modelci-sign-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        identity = _use_signer(config, signer, Path(tmp), stack)
        out = Path(tmp) / "model.sig"
        try:
            config.sign(model_dir, out)
        except Exception as exc:
            raise _signing_failure(exc, model_dir, signer) from None
        data = out.read_bytes()
    try:
        bundle = _read_bundle(data)
    except ValueError as exc:  # model-signing wrote it: not the user's fault
        raise InfraError(f"model-signing wrote an unreadable bundle: {exc}") from None
    if not bundle.digests:
        raise InputError(f"{model_dir}: no file to sign (all are ignored, or the folder is empty)")
    if identity is None:
        identity = keyless_identity(bundle.material.certificates[0])
    try:
        fsutil.write_bytes(signature, data)
    except OSError as exc:
        raise InputError(
            f"{signature}: cannot write the signature: {exc.strerror or exc}"
        ) from None
    return Signed(signature, bundle.digests, identity)


def _use_signer(
    config: SigningConfig, signer: Signer, folder: Path, stack: contextlib.ExitStack[bool | None]
) -> SigningIdentity | None:
    """Sets ``signer`` on model-signing's config after checking its inputs; returns the
    identity when it is known before signing (keyless: only the certificate tells)."""
    if isinstance(signer, KeylessSigner):
        from modelci.signing.token import checked_token

        checked_token(signer.identity_token, "the identity token")
        trust_file = trust.file_for(signer.trust_config, folder) if signer.trust_config else None
        try:  # without a trust config this fetches the public instance's over TUF
            config.use_sigstore_signer(
                identity_token=signer.identity_token, trust_config=trust_file
            )
        except Exception as exc:
            raise InfraError(
                f"cannot set up keyless signing with Sigstore: {first_line(exc, 200)}"
            ) from None
        return None
    key = keys.load_private_key(signer.private_key, signer.password)
    if isinstance(signer, KeySigner):
        config.use_elliptic_key_signer(private_key=stack.enter_context(_unencrypted(signer, key)))
        return key_identity(key.public_key())
    leaf, *_ = keys.load_certificates([signer.signing_certificate], "signing certificate")
    keys.check_key_pair(key, leaf, signer.private_key, signer.signing_certificate)
    keys.load_certificates(signer.certificate_chain, "certificate chain")
    config.use_certificate_signer(
        private_key=stack.enter_context(_unencrypted(signer, key)),
        signing_certificate=signer.signing_certificate,
        certificate_chain=signer.certificate_chain,
    )
    return certificate_identity(leaf)


def verify_model(
    model_dir: Path, signature: Path, verifier: Verifier, *, ignore: Sequence[Path] = ()
) -> Verified:
    """Verifies that ``model_dir`` is exactly what ``signature`` signed, signed by what
    ``verifier`` trusts. Every refusal is ``GateFailed`` with one line saying why."""
    from model_signing import verifying

    model_dir = _model_folder(model_dir)
    try:
        data = signature.read_bytes()
    except OSError as exc:
        raise InputError(f"{signature}: cannot read the signature: {exc.strerror or exc}") from None
    try:
        bundle = _read_bundle(data)
    except ValueError as exc:
        raise GateFailed(f"{signature}: not a model signature: {exc}") from None
    if mismatch := method_mismatch(bundle.material.kind, verifier):
        raise GateFailed(f"{signature}: {mismatch}")
    hashing = _hashing(_ignored(model_dir, ignore, signature))
    config = verifying.Config().set_hashing_config(hashing)
    with tempfile.TemporaryDirectory(prefix="modelci-verify-") as tmp:
        if isinstance(verifier, PublicKeyVerifier):
            identity = key_identity(keys.load_public_key(verifier.public_key))
            config.use_elliptic_key_verifier(public_key=verifier.public_key)
        elif isinstance(verifier, CertificateVerifier):
            if not verifier.certificate_chain:
                raise InputError("no certificate to trust: give the root certificate (PEM)")
            keys.load_certificates(verifier.certificate_chain, "certificate chain")
            config.use_certificate_verifier(certificate_chain=verifier.certificate_chain)
            identity = certificate_identity(bundle.material.certificates[0])
        else:
            config.use_sigstore_verifier(
                identity=verifier.identity,
                oidc_issuer=verifier.issuer,
                trust_config=trust.file_for(verifier.trust_config, Path(tmp)),
            )
            identity = keyless_identity(bundle.material.certificates[0])
        # Verify the very bytes read above, so the digests returned are the ones verified.
        copy = fsutil.write_bytes(Path(tmp) / "model.sig", data)
        try:
            config.verify(model_dir, copy)
        except Exception as exc:
            changes = _what_changed(exc, model_dir, bundle, hashing)
            if changes:
                raise GateFailed(f"{model_dir} differs from {signature}: {changes}") from None
            reason = _verification_failure(exc, model_dir, verifier, identity)
            raise GateFailed(f"{signature}: {reason}") from None
    return Verified(signature, bundle.digests, identity)


def digest_model(model_dir: Path, *, ignore: Sequence[Path] = ()) -> Mapping[str, str]:
    """``{relative posix path: sha256 hex}`` of the files a signature of ``model_dir`` would
    cover, hashed by model-signing with the same settings as ``sign_model``: for a model
    that is not signed here (the champion promote checks, provenance subjects)."""
    model_dir = _model_folder(model_dir)
    try:
        manifest = _hashing(_ignored(model_dir, ignore, None)).hash(model_dir)
    except Exception as exc:
        raise _signing_failure(exc, model_dir, None) from None
    digests = {d.identifier: d.digest.digest_hex for d in manifest.resource_descriptors()}
    return MappingProxyType(dict(sorted(digests.items())))


def _model_folder(model_dir: Path) -> Path:
    if not model_dir.is_dir():
        what = "is not a folder" if model_dir.exists() else "does not exist"
        raise InputError(f"{model_dir}: the model folder {what}")
    return model_dir


def _ignored(model_dir: Path, ignore: Sequence[Path], signature: Path | None) -> list[Path]:
    """What to leave out, relative to the model folder: ``ignore`` (relative to the model
    folder, or absolute inside it) and the signature (a path as given) if it lies inside."""
    candidates = [path if path.is_absolute() else model_dir / path for path in ignore]
    if signature is not None:
        candidates.append(signature)
    roots = (Path(os.path.abspath(model_dir)), model_dir.resolve())
    relative = []
    for path in candidates:
        for full, root in zip((Path(os.path.abspath(path)), path.resolve()), roots, strict=True):
            with contextlib.suppress(ValueError):
                relative.append(full.relative_to(root))
                break
    return relative


def _hashing(ignored: Sequence[Path]) -> HashingConfig:
    from model_signing import hashing

    return (
        hashing.Config()
        .use_file_serialization(
            hashing_algorithm="sha256",
            chunk_size=CHUNK_SIZE,
            max_workers=HASH_WORKERS,
            allow_symlinks=False,
        )
        .set_ignored_paths(paths=ignored, ignore_git_paths=True)
    )


@contextlib.contextmanager
def _unencrypted(
    signer: KeySigner | CertificateSigner, key: EllipticCurvePrivateKey
) -> Iterator[Path]:
    """The private key as a path model-signing can read.

    model-signing 1.1.1's certificate signer takes no password, and its key signer passes
    the password on as ``str`` where cryptography needs bytes (a TypeError). So an
    encrypted key is decrypted here, in memory, and handed over through an anonymous pipe
    (``/dev/fd/N``): the clear key never touches a disk.
    """
    if signer.password is None:
        yield signer.private_key
        return
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if not Path("/dev/fd").is_dir():
        raise InputError(
            f"{signer.private_key}: an encrypted key with a certificate needs /dev/fd here"
        )
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, pem)  # an EC key's PEM is far below the pipe's buffer
        os.close(write_end)
        write_end = -1
        yield Path(f"/dev/fd/{read_end}")
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)


def _read_bundle(data: bytes) -> _Bundle:
    """The per-file digests a model-signing bundle states; ``ValueError`` when it is not
    one modelci can verify (its format is read here, never written)."""
    read = envelope.read(data)
    try:
        statement = json.loads(read.payload)
        if statement.get("predicateType") != MODEL_PREDICATE:
            raise ValueError(
                f"predicate {statement.get('predicateType')!r} is not model-signing's "
                f"{MODEL_PREDICATE}"
            )
        predicate = statement["predicate"]
        serialization = predicate["serialization"]
        if serialization.get("method") != "files" or serialization.get("hash_type") != "sha256":
            raise ValueError(
                f"signed by {serialization.get('method')}/{serialization.get('hash_type')}; "
                "modelci verifies per-file sha256 signatures (model-signing's default)"
            )
        digests = {}
        for resource in predicate["resources"]:
            if resource["algorithm"] != "sha256":
                raise ValueError(f"{resource['name']}: digest is not sha256")
            digests[str(resource["name"])] = str(resource["digest"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"the signed statement lacks {exc}") from None
    except json.JSONDecodeError:
        raise ValueError("the signed payload is not JSON") from None
    return _Bundle(read.material, MappingProxyType(dict(sorted(digests.items()))))


def _signing_failure(exc: Exception, model_dir: Path, signer: Signer | None) -> ModelciError:
    if isinstance(exc, ModelciError):
        return exc
    text = first_line(exc, 200)
    if isinstance(exc, ValueError) and "symlink" in text:
        return InputError(
            f"{model_dir}: {_model_path(text, model_dir)} is a symlink; modelci signs regular "
            "files only (copy the target in, or remove the link)"
        )
    if isinstance(exc, ValueError) and "as file or directory" in text:
        return InputError(f"{model_dir}: {_model_path(text, model_dir)} is not a regular file")
    if isinstance(exc, OSError):
        return InputError(f"{model_dir}: cannot read the model: {exc.strerror or exc}")
    if isinstance(signer, KeylessSigner):
        return InfraError(f"keyless signing with Sigstore failed: {text}")
    return InputError(f"{model_dir}: model-signing failed: {text}")


def _model_path(text: str, model_dir: Path) -> str:
    """The model-relative path model-signing quotes in ``Cannot use '<path>' ...``."""
    quoted = text.split("'")[1] if text.count("'") >= 2 else text
    with contextlib.suppress(ValueError):
        return Path(quoted).relative_to(model_dir).as_posix()
    return quoted


def _verification_failure(
    exc: Exception, model_dir: Path, verifier: Verifier, identity: SigningIdentity
) -> str:
    from cryptography.exceptions import InvalidSignature
    from OpenSSL import crypto
    from sigstore.errors import Error as SigstoreError

    if isinstance(exc, ModelciError):
        return exc.message
    text = first_line(exc, 200)
    if isinstance(exc, ValueError) and "symlink" in text:
        return f"{_model_path(text, model_dir)} is a symlink (never signed, never followed)"
    if isinstance(exc, ValueError) and "as file or directory" in text:
        return f"{_model_path(text, model_dir)} is not a regular file"
    if isinstance(exc, ValueError) and text.startswith("Key mismatch"):
        assert isinstance(verifier, PublicKeyVerifier)
        return f"signed by another key, not by {verifier.public_key}"
    if isinstance(exc, InvalidSignature):
        return "the signature does not verify: the bundle was changed or signed by another key"
    if isinstance(exc, crypto.X509StoreContextError):
        return (
            f"the signing certificate {identity.name!r} does not chain to the trusted "
            f"certificates: {text}"
        )
    if isinstance(exc, SigstoreError) and isinstance(verifier, IdentityVerifier):
        return keyless_failure(identity, verifier, exc)
    return f"the signature is invalid: {text}"


def _what_changed(
    exc: Exception, model_dir: Path, bundle: _Bundle, hashing: HashingConfig
) -> str | None:
    """Which files differ when model-signing found the signature valid but the model
    different, by hashing the model again (only on this failure path)."""
    if not (isinstance(exc, ValueError) and str(exc).startswith("Signature mismatch")):
        return None
    try:
        manifest = hashing.hash(model_dir)
        actual = {d.identifier: d.digest.digest_hex for d in manifest.resource_descriptors()}
    except Exception:
        return f"the files differ ({first_line(exc, 200)})"
    return describe_changes(bundle.digests, actual)
