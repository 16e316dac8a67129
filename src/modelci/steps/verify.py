"""verify: the model on disk is exactly what was signed, by whom the settings trust.

Fails closed: a changed, added, removed or renamed file, a symlink, an edited or foreign
bundle, the wrong key, identity, issuer or trust root — each is exit 1 with one line saying
why. How to verify (a public key, a certificate chain, or a keyless identity and issuer)
comes from the settings, never from the run folder. When the run folder holds the signed run
facts, they are verified too and must be about the same files.

promote runs the same verification (:func:`verified_run_facts`) before it acts on a signed
model's verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci.errors import GateFailed, InputError
from modelci.inputs import Input, Output
from modelci.manifest import Manifest, VerifyFacts
from modelci.results import Check, StepResult
from modelci.step import Context, StepSpec

if TYPE_CHECKING:
    from modelci.signing import Verified, VerifiedStatement, Verifier

STEP = "verify"


def run(ctx: Context) -> StepResult:
    from modelci.signing import verify_model
    from modelci.signing.settings import ignored, required_verifier

    config = ctx.config
    manifest = ctx.runfolder.manifest()
    verifier = required_verifier(config, "verify")
    model_dir = _model(ctx, manifest)
    signature = _signature(ctx, manifest)
    ctx.step_dir(STEP)
    verified = verify_model(model_dir, signature, verifier, ignore=ignored(config))
    checks = [
        Check(
            rule="model matches its signature",
            passed=True,
            observed=f"{len(verified.digests)} files",
            expected=_who(verified),
        )
    ]
    statement = None
    if manifest.sign is not None and _same(
        ctx.runfolder.resolve(manifest.sign.signature), signature
    ):
        statement = verified_run_facts(ctx, manifest, verifier, verified)
        checks.append(
            Check(
                rule="run facts verified",
                passed=True,
                observed=statement.statement.predicate_type,
                expected="same files, same signer",
            )
        )
    provenance = ctx.config.path("verify.provenance")
    if provenance is not None:
        checks.append(_provenance(ctx, provenance, model_dir, verifier))
    shown = ctx.runfolder.relative(model_dir)
    result = StepResult(
        step=STEP,
        passed=True,
        summary=f"verify passed: {shown} ({len(verified.digests)} files) is what "
        f"{_who(verified)} signed",
        checks=checks,
        outputs={"identity": verified.identity.name, "digest": verified.model_digest},
        markdown=f"**✅ verified** — `{shown}`: {len(verified.digests)} files signed by "
        f"{verified.identity.kind.value} `{_who(verified)}`"
        + ("; the run facts too" if statement else ""),
    )
    result.record.section = VerifyFacts(
        passed=True,
        model=shown,
        signature=ctx.runfolder.relative(signature),
        identity=verified.identity.name,
        issuer=verified.identity.issuer,
        files_digest=verified.model_digest,
        statement=statement is not None,
    )
    return result


def _provenance(ctx: Context, path: Path, model_dir: Path, verifier: Verifier) -> Check:
    """A signed provenance: its signature (the same signer), its subjects (the model on
    disk) and, when asked, its builder and source repository."""
    import json

    from modelci.provenance import check_statement
    from modelci.signing import verify_statement
    from modelci.signing.settings import ignored
    from modelci.steps.provenance import read_document

    try:
        data, signed = read_document(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the provenance ({exc.strerror})") from None
    if not signed:
        raise GateFailed(
            f"{path}: the provenance is not signed; sign it (modelci provenance with a "
            "signing method) to verify it"
        )
    statement = verify_statement(data, verifier).statement
    check_statement(
        json.loads(statement.to_json()),
        model_dir,
        builder=ctx.config.get("verify.builder"),
        source_repository=ctx.config.get("verify.source"),
        ignore=ignored(ctx.config),
    )
    return Check(
        rule="provenance verified",
        passed=True,
        observed=ctx.runfolder.relative(path),
        expected="signed, about the same files",
    )


def _who(verified: Verified) -> str:
    identity = verified.identity
    return identity.name + (f" ({identity.issuer})" if identity.issuer else "")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _model(ctx: Context, manifest: Manifest) -> Path:
    """The folder to verify: the one asked for, else the model train made. The signature the
    run folder records must be for that folder: verifying whichever folder sign names would
    let an edited manifest point verify at an untouched copy beside a changed model."""
    configured = ctx.config.path("verify.model")
    if configured is not None:
        return configured
    trained = manifest.train.model_path if manifest.train is not None else None
    if trained is not None:
        model = ctx.runfolder.resolve(trained)
        if manifest.sign is not None and not _same(
            ctx.runfolder.resolve(manifest.sign.model), model
        ):
            raise GateFailed(
                f"the signature in the run folder is for {manifest.sign.model}, not the model "
                f"train made ({trained}); pass MODEL to verify another folder"
            )
        return model
    if manifest.sign is not None:
        return ctx.runfolder.resolve(manifest.sign.model)
    raise InputError("no model folder to verify: pass MODEL or set verify.model")


def _signature(ctx: Context, manifest: Manifest) -> Path:
    configured = ctx.config.path("verify.signature")
    if configured is not None:
        return configured
    if manifest.sign is not None:
        return ctx.runfolder.resolve(manifest.sign.signature)
    raise InputError(
        "no signature to verify: pass --signature FILE, set verify.signature, or run "
        "`modelci sign` first"
    )


def verified_run_facts(
    ctx: Context, manifest: Manifest, verifier: Verifier, model: Verified
) -> VerifiedStatement:
    """The signed run facts of the run folder, verified with ``verifier`` and about exactly
    the files ``model`` verified."""
    from modelci.signing import verify_statement
    from modelci.steps.sign import RUN_FACTS

    assert manifest.sign is not None
    path = ctx.runfolder.resolve(manifest.sign.statement)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GateFailed(f"{path}: the signed run facts cannot be read ({exc.strerror})") from None
    verified = verify_statement(data, verifier)
    if verified.statement.predicate_type != RUN_FACTS:
        raise GateFailed(
            f"{path}: not modelci's run facts (predicate {verified.statement.predicate_type})"
        )
    verified.require_subjects(model.digests, what=f"the model in {ctx.runfolder.relative(path)}")
    return verified


def predicate(statement: VerifiedStatement) -> dict[str, Any]:
    return dict(statement.statement.predicate)


SPEC = StepSpec(
    name=STEP,
    help="""Check that the model on disk is exactly what was signed, by whom you trust.

    MODEL defaults to the model folder train made (the signature must be for it). Say how
    to verify with --public-key, --certificate-chain, or --identity and --issuer (keyless;
    verified offline with the Sigstore trust root bundled in sigstore-python). Exit 0 when it
    verifies, 1 when it does not (with why), 2 on bad input.""",
    run=run,
    inputs=(
        Input("model", "verify.model", "Model folder to verify.", positional=True),
        Input("signature", "verify.signature", "Signature bundle (default: sign's)."),
        Input("public-key", "verify.public_key", "PEM public key (key signatures)."),
        Input(
            "certificate-chain",
            "verify.certificate_chain",
            "PEM certificate to trust, up to the root (certificate signatures).",
        ),
        Input("identity", "verify.identity", "Keyless: the signer's identity (email or URI)."),
        Input("issuer", "verify.issuer", "Keyless: the OIDC issuer of that identity."),
        Input(
            "trust-config",
            "verify.trust_config",
            "Keyless: another Sigstore instance's trust config.",
        ),
        Input("provenance", "verify.provenance", "Also verify this signed provenance."),
        Input("builder", "verify.builder", "With --provenance: the builder id it must name."),
        Input("source", "verify.source", "With --provenance: the source repository it must name."),
    ),
    outputs=(
        Output("identity", "Who signed: key fingerprint, certificate subject or identity."),
        Output("digest", "sha256 of the verified files' listing."),
    ),
    extras=("sign",),
)
