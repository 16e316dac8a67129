"""provenance: where the model came from — a SLSA Provenance v1 in-toto statement.

Subjects are every model file's digest, hashed as sign hashes them. The build definition
names modelci's build type, the settings that mattered, the data (URIs and digests), the
estimator and its parameters (or the team's command), and the source commit; the run
details name the builder (the workflow or template that ran), the invocation (the CI run)
and when train ran. Signed as DSSE with sign's method when one is configured; ``modelci
verify --provenance`` checks it. See docs/provenance.md for the SLSA level each way of
running reaches.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from modelci import runfacts
from modelci.inputs import Input, Output
from modelci.manifest import Manifest, ProvenanceFacts
from modelci.registry.artifacts import attach
from modelci.results import Check, StepResult
from modelci.step import Context, StepSpec

if TYPE_CHECKING:
    from modelci.provenance import ProvenanceInputs

STEP = "provenance"
STATEMENT = "provenance.intoto.json"
BUNDLE = "provenance.sigstore.json"
#: the builder of a run outside any CI
LOCAL_BUILDER = "https://modelci.dev/builders/local"
ARTIFACTS = "modelci"


def run(ctx: Context) -> StepResult:
    from modelci.digests import sha256_of
    from modelci.provenance import build_statement, canonical
    from modelci.signing import Statement, sign_statement
    from modelci.signing.settings import configured_signer

    manifest = ctx.runfolder.manifest()
    model_dir = runfacts.model_folder(ctx, "provenance.model")
    signer = configured_signer(ctx.config, ctx.env)
    inputs = build_inputs(ctx, manifest, model_dir, builder=_builder(ctx, signer))
    statement = canonical(build_statement(inputs))
    bundle = sign_statement(Statement.from_json(statement), signer) if signer else None
    step_dir = ctx.step_dir(STEP)
    files: dict[str, str | bytes] = {STATEMENT: statement}
    if bundle is not None:
        files[BUNDLE] = bundle
    builder = inputs.run.builder_id
    shown = ctx.runfolder.relative(step_dir / (BUNDLE if bundle else STATEMENT))
    result = StepResult(
        step=STEP,
        passed=True,
        summary=f"provenance passed: {shown}: {len(inputs.digests)} subjects built by {builder}"
        + ("" if bundle else " (not signed: no signing method configured)"),
        checks=[
            Check(rule="subjects", passed=True, observed=len(inputs.digests)),
            Check(rule="builder", passed=True, observed=builder),
            Check(
                rule="signed",
                passed=bundle is not None,
                severity="warning",
                message="" if bundle else "not signed: set sign.private_key or sign keyless",
            ),
        ],
        outputs={
            "provenance": str(step_dir / (BUNDLE if bundle else STATEMENT)),
            "statement": str(step_dir / STATEMENT),
            "digest": sha256_of(statement),
        },
        markdown=f"**✅ provenance** — `{shown}`: SLSA Provenance v1, {len(inputs.digests)} "
        f"subjects, builder `{builder}`" + ("" if bundle else " — not signed"),
    )
    result.record.files.update(files)
    result.record.section = ProvenanceFacts(
        statement=ctx.runfolder.relative(step_dir / STATEMENT),
        digest=sha256_of(statement),
        builder=builder,
        bundle=ctx.runfolder.relative(step_dir / BUNDLE) if bundle else None,
        subjects=len(inputs.digests),
    )
    output = ctx.config.path("provenance.output")
    document = bundle if bundle is not None else statement
    if output is not None:

        def copy() -> None:
            from modelci import fsutil

            fsutil.write_bytes(output, document)

        result.record.recorded.append(copy)
    train = manifest.train
    if train is not None:
        attached = {name: data for name, data in files.items() if isinstance(data, bytes)}
        run_id = train.run_id
        result.record.recorded.append(
            lambda: attach(ctx.config, ctx.runfolder.path, ctx.env, run_id, attached, ARTIFACTS)
        )
    return result


def _builder(ctx: Context, signer: object) -> str:
    """Who built the model: ``provenance.builder`` when set; signing keylessly, the
    workflow the certificate will name (in a reusable workflow that is the callee, which
    the CI context cannot say); else the CI's workflow file, else a local run."""
    from modelci.signing import KeylessSigner
    from modelci.signing.token import workflow_identity

    configured = ctx.config.get("provenance.builder")
    if configured:
        return str(configured)
    if isinstance(signer, KeylessSigner):
        found = workflow_identity(signer.identity_token)
        if found:
            return found
    return ctx.ci.workflow or LOCAL_BUILDER


def build_inputs(
    ctx: Context, manifest: Manifest, model_dir: Path, *, builder: str
) -> ProvenanceInputs:
    from modelci.models.mlmodel import Parameter
    from modelci.provenance import ConfigFile, ProvenanceInputs, Resource, RunDetails, Training
    from modelci.signing import digest_model
    from modelci.signing.settings import ignored

    train = runfacts.trained(manifest, STEP)
    params = dict(train.params)
    estimator = params.pop("estimator", None)
    command = params.pop("command", None)
    settings = {
        key: ctx.config.get(key)
        for key in ("train.seed", "train.split.test_size", "train.cv.folds", "train.task")
    }
    training = Training(
        estimator=str(estimator) if estimator else None,
        params=tuple(Parameter.of(k, v) for k, v in sorted(params.items())),
        command=str(command) if command else None,
        task=train.task,
        target=train.target,
        seed=int(ctx.config.get("train.seed", 42)),
        settings=tuple(Parameter.of(k, v) for k, v in settings.items() if v is not None),
    )
    finished = _time(manifest, "train") or runfacts.now(ctx)
    started = _time(manifest, "validate-data") or dt.datetime.fromisoformat(
        manifest.created.replace("Z", "+00:00")
    )
    config_file = None
    if ctx.config.file is not None and ctx.config.file.is_file():
        from modelci.digests import file_sha256

        config_file = ConfigFile(str(ctx.config.file), file_sha256(ctx.config.file))
    return ProvenanceInputs(
        digests=digest_model(model_dir, ignore=ignored(ctx.config)),
        training=training,
        run=RunDetails(
            builder_id=builder,
            started_on=min(started, finished),
            finished_on=finished,
            invocation_id=ctx.ci.run_url,
        ),
        datasets=runfacts.datasets(ctx, manifest),
        source=runfacts.source(ctx),
        config=config_file,
        byproducts=(Resource(name="mlflow-run", uri=f"{train.tracking_uri}#runs/{train.run_id}"),),
    )


def _time(manifest: Manifest, step: str) -> dt.datetime | None:
    record = manifest.steps.get(step)
    if record is None:
        return None
    return dt.datetime.fromisoformat(record.finished.replace("Z", "+00:00"))


def read_document(path: Path) -> tuple[bytes, bool]:
    """A provenance file's bytes and whether it is a signed bundle (else a bare statement)."""
    data = path.read_bytes()
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return data, True
    return data, not (isinstance(parsed, dict) and "_type" in parsed)


SPEC = StepSpec(
    name=STEP,
    help="""Write the model's SLSA Provenance v1, signed with sign's method when configured.

    MODEL defaults to the model folder train recorded. Subjects are the same file
    digests sign signs. Exit 0 when written, 2 when a fact is missing (run train first).""",
    run=run,
    inputs=(
        Input(
            "model", "provenance.model", "Model folder the provenance is about.", positional=True
        ),
        Input("output", "provenance.output", "Also write the provenance here."),
        Input("builder", "provenance.builder", "Builder id (default: the CI workflow)."),
        Input("private-key", "sign.private_key", "PEM private key to sign it with."),
        Input("method", "sign.method", "How to sign it."),
    ),
    outputs=(
        Output("provenance", "Path of the signed bundle (the statement when unsigned)."),
        Output("statement", "Path of the in-toto statement."),
        Output("digest", "sha256 of the statement."),
    ),
    extras=("sbom", "registry"),
)
