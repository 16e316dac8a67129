"""sign: a Sigstore bundle over every model file, and a signed statement of the run's facts.

The model is signed by OpenSSF model-signing (``sign/model.sig``). model-signing signs
files, not how they came about, so the facts of the run — the model's registered name and
version and digest, the MLflow run, the dataset digests, the metrics, and compare's verdict
(its decision's sha256 and the champion it was judged against) — travel in a second in-toto
statement over the same file digests, signed the same way (``sign/run-facts.sigstore.json``).
promote verifies both before it acts on the verdict; a verify step before a deploy checks the
model against the signature.

With the signature in the run folder, the step also attaches both bundles to the model
version's MLflow run (``modelci/``) and tags the version, so compare can verify a signed
production model wherever it runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from modelci import runfacts
from modelci.errors import InputError
from modelci.inputs import Input, Output
from modelci.manifest import Manifest, SignFacts
from modelci.registry import tags
from modelci.registry.artifacts import attach
from modelci.results import Check, StepResult, counted
from modelci.step import Context, StepSpec

STEP = "sign"
SIGNATURE = "model.sig"
STATEMENT = "run-facts.sigstore.json"
#: the predicate of the run-facts statement
RUN_FACTS = "https://modelci.dev/attestations/run-facts/v1"
#: where the bundles go in the model version's MLflow run
ARTIFACT_DIR = "modelci"


def skip_reason(ctx: Context) -> str | None:
    """In the pipeline, sign is skipped (and says so) when no signing method is configured."""
    from modelci.signing.settings import configured_signer

    if configured_signer(ctx.config, ctx.env) is None:
        return (
            "no signing method: set sign.private_key (or certificate), or run in CI with an "
            "identity token for keyless signing"
        )
    return None


def run(ctx: Context) -> StepResult:
    from modelci import staging
    from modelci.signing import sign_model, sign_statement
    from modelci.signing.settings import configured_signer

    signer = configured_signer(ctx.config, ctx.env)
    if signer is None:
        from modelci.signing import identity_token

        try:
            identity_token(ctx.env)  # says, for this CI, exactly what to add for keyless
        except InputError as exc:
            raise InputError(
                "nothing to sign with: pass --private-key PEM (with --certificate and "
                f"--certificate-chain for certificate signing), or sign keyless: {exc.message}"
            ) from None
        raise InputError("nothing to sign with: pass --private-key PEM")
    manifest = ctx.runfolder.manifest()
    model_dir = runfacts.model_folder(ctx, "sign.model")
    step_dir = ctx.step_dir(STEP)
    configured = ctx.config.path("sign.signature")
    with staging.folder("sign") as scratch:
        signed = sign_model(model_dir, signer, scratch / SIGNATURE)
        statement = _statement(ctx, manifest, signed.subjects(), model_dir)
        facts_bundle = sign_statement(statement, signer)
        data = signed.signature.read_bytes()
    result = _result(ctx, manifest, model_dir, signed, data, facts_bundle, step_dir)
    result.record.files.update({SIGNATURE: data, STATEMENT: facts_bundle})
    if configured is not None and configured.resolve() != (step_dir / SIGNATURE).resolve():
        copy = configured

        def also_there() -> None:
            from modelci import fsutil

            # where the user asked too: a copy, after the run folder's record
            fsutil.write_bytes(copy, data)

        result.record.recorded.append(also_there)
    if manifest.train is not None:
        result.record.recorded.append(lambda: _attach(ctx, manifest, data, facts_bundle))
    return result


def _statement(ctx: Context, manifest: Manifest, subjects: Any, model_dir: Path) -> Any:
    from modelci.digests import model_digest
    from modelci.signing import Statement

    facts = runfacts.predicate(ctx, manifest, model_digest(model_dir))
    return Statement(subjects=subjects, predicate_type=RUN_FACTS, predicate=facts)


def _result(
    ctx: Context,
    manifest: Manifest,
    model_dir: Path,
    signed: Any,
    data: bytes,
    facts_bundle: bytes,
    step_dir: Path,
) -> StepResult:
    from modelci.digests import model_digest

    identity = signed.identity
    shown = identity.name + (f" ({identity.issuer})" if identity.issuer else "")
    summary = (
        f"sign passed: {counted(len(signed.digests), 'file')} of "
        f"{ctx.runfolder.relative(model_dir)} "
        f"signed by {identity.kind.value} {shown}"
    )
    train = manifest.train
    result = StepResult(
        step=STEP,
        passed=True,
        summary=summary,
        checks=[
            Check(
                rule="model signed",
                passed=True,
                observed=f"{len(signed.digests)} files",
                expected=shown,
            ),
            Check(
                rule="run facts signed",
                passed=True,
                observed=RUN_FACTS,
                expected="gate verdict" if manifest.compare else "no compare yet",
            ),
        ],
        outputs={
            "signature": str(step_dir / SIGNATURE),
            "statement": str(step_dir / STATEMENT),
            "digest": signed.model_digest,
            "identity": identity.name,
        },
        markdown=(
            f"**✅ signed** — `{ctx.runfolder.relative(model_dir)}` ({len(signed.digests)} "
            f"files) by {identity.kind.value} `{shown}`\n\n"
            f"- signature: `{ctx.runfolder.relative(step_dir / SIGNATURE)}`\n"
            f"- run facts: `{ctx.runfolder.relative(step_dir / STATEMENT)}`"
            + ("" if manifest.compare else " (no compare verdict: promote will refuse it)")
        ),
    )
    result.record.section = SignFacts(
        model=ctx.runfolder.relative(model_dir),
        signature=ctx.runfolder.relative(step_dir / SIGNATURE),
        statement=ctx.runfolder.relative(step_dir / STATEMENT),
        model_digest=model_digest(model_dir),
        files_digest=signed.model_digest,
        method=identity.kind.value,
        identity=identity.name,
        issuer=identity.issuer,
        registered_model=train.registered_model if train else None,
        model_version=train.model_version if train else None,
    )
    return result


def _attach(ctx: Context, manifest: Manifest, signature: bytes, statement: bytes) -> None:
    """Keep the bundles with the model version: artifacts of its run, tags on the version."""
    from modelci.registry import client as registry
    from modelci.registry.location import locate

    train = manifest.train
    assert train is not None
    attach(
        ctx.config,
        ctx.runfolder.path,
        ctx.env,
        train.run_id,
        {SIGNATURE: signature, STATEMENT: statement},
        ARTIFACT_DIR,
    )
    location = locate(ctx.config, ctx.runfolder.path, ctx.env)
    if location.missing():
        return
    registry.set_tags(
        registry.client(location),
        location,
        train.registered_model,
        train.model_version,
        {
            tags.SIGNATURE: f"{ARTIFACT_DIR}/{SIGNATURE}",
            tags.SIGNATURE_SHA256: "sha256:" + hashlib.sha256(signature).hexdigest(),
            tags.RUN_FACTS: f"{ARTIFACT_DIR}/{STATEMENT}",
        },
    )


SPEC = StepSpec(
    name=STEP,
    help="""Sign every file of the model, and the facts of the run, with one method.

    MODEL defaults to the model folder train recorded. A private key (its password in
    MODELCI_SIGNING_KEY_PASSWORD), a certificate with its chain, or keyless with the CI's
    OIDC identity (GitHub: permissions id-token: write; GitLab: id_tokens with aud
    sigstore). Exit 0 when signed, 2 on bad input, 3 when Sigstore is unreachable.""",
    run=run,
    inputs=(
        Input("model", "sign.model", "Model folder to sign.", positional=True),
        Input("signature", "sign.signature", "Also write the model's signature bundle here."),
        Input("method", "sign.method", "How to sign."),
        Input("private-key", "sign.private_key", "PEM private key (key or certificate)."),
        Input("certificate", "sign.certificate", "PEM signing certificate of the key."),
        Input(
            "certificate-chain",
            "sign.certificate_chain",
            "PEM certificate of the chain up to the root.",
        ),
    ),
    outputs=(
        Output("signature", "Path of the model's signature bundle."),
        Output("statement", "Path of the signed run facts."),
        Output("digest", "sha256 of the signed files' listing."),
        Output("identity", "Who signed: key fingerprint, certificate subject or identity."),
    ),
    extras=("sign", "registry"),
    skip=skip_reason,
)
