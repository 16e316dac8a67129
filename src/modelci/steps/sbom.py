"""sbom: what the model is made of — a CycloneDX 1.6 ML-BOM (JSON or XML) or SPDX 3.0.1.

The document describes the registered model (every file's SHA-256), its model card (task,
estimator and hyperparameters, the MLflow signature, datasets, performance from train and
compare with intervals and slices, the team's considerations from ``sbom.considerations``),
the training and evaluation data (digests, rows, contract), every package of the model's
own pinned runtime, and the signature bundle. Written to ``<run folder>/sbom/`` with the
manifest entry, attached to the model's MLflow run. See docs/sbom.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelci import runfacts
from modelci.errors import InputError
from modelci.inputs import Input, Output
from modelci.manifest import Manifest, SbomFacts
from modelci.registry.artifacts import attach
from modelci.results import Check, StepResult, counted
from modelci.step import Context, StepSpec

if TYPE_CHECKING:
    from modelci.sbom import Performance, SbomInputs

STEP = "sbom"
#: where the document goes in the model's MLflow run
ARTIFACTS = "modelci"


def run(ctx: Context) -> StepResult:
    from modelci.digests import sha256_of
    from modelci.sbom import SbomFormat, render

    manifest = ctx.runfolder.manifest()
    model_dir = runfacts.model_folder(ctx, "sbom.model")
    fmt = SbomFormat(str(ctx.config.get("sbom.format") or "cyclonedx-json"))
    inputs = build_inputs(ctx, manifest, model_dir)
    data = render(inputs, fmt)
    step_dir = ctx.step_dir(STEP)
    name = f"model{fmt.suffix}"
    digest = sha256_of(data)
    shown = ctx.runfolder.relative(step_dir / name)
    result = StepResult(
        step=STEP,
        passed=True,
        summary=f"sbom passed: {shown} ({fmt.value}) describes {inputs.model.name} version "
        f"{inputs.model.version}: {counted(len(inputs.model.files), 'file')}, "
        f"{counted(len(inputs.runtime.requirements), 'runtime package')}, "
        f"{counted(len(inputs.datasets), 'dataset')}",
        checks=[
            Check(rule="model files", passed=True, observed=len(inputs.model.files)),
            Check(rule="runtime packages", passed=True, observed=len(inputs.runtime.requirements)),
            Check(rule="datasets", passed=True, observed=len(inputs.datasets)),
            Check(
                rule="signature referenced",
                passed=inputs.signature_bundle is not None,
                severity="warning",
                message="" if inputs.signature_bundle else "the model is not signed yet",
            ),
        ],
        outputs={"sbom": str(step_dir / name), "digest": digest, "format": fmt.value},
        markdown=f"**✅ SBOM** — `{shown}` ({fmt.value}, `{digest}`): {inputs.model.name} "
        f"version {inputs.model.version}, {counted(len(inputs.model.files), 'file')}, "
        f"{counted(len(inputs.runtime.requirements), 'runtime package')}",
    )
    result.record.files[name] = data
    result.record.section = SbomFacts(
        path=shown, digest=digest, format=fmt.value, model_digest=inputs.model.digest
    )
    _also_to(ctx, "sbom.output", data, result)
    train = manifest.train
    if train is not None:
        result.record.recorded.append(
            lambda: attach(
                ctx.config, ctx.runfolder.path, ctx.env, train.run_id, {name: data}, ARTIFACTS
            )
        )
    return result


def build_inputs(ctx: Context, manifest: Manifest, model_dir: Path) -> SbomInputs:
    from modelci.digests import model_digest
    from modelci.models.mlmodel import Parameter, read_mlmodel
    from modelci.sbom import (
        ModelInfo,
        SbomInputs,
        considerations_from_config,
        installed_license,
        model_files,
        read_runtime,
    )

    train = runfacts.trained(manifest, STEP)
    if not model_dir.is_dir():
        raise InputError(f"{model_dir}: the model folder does not exist; run `modelci train`")
    estimator = train.params.get("estimator")
    params = tuple(
        Parameter.of(k, v) for k, v in sorted(train.params.items()) if k not in ("estimator",)
    )
    model = ModelInfo(
        name=train.registered_model,
        version=train.model_version,
        path=model_dir,
        files=model_files(model_dir),
        estimator=str(estimator) if estimator else None,
        params=params,
        task=train.task,
        mlmodel=read_mlmodel(model_dir),
        registry_uri=train.tracking_uri,
        run_id=train.run_id,
        digest=model_digest(model_dir),
    )
    signature = manifest.sign
    bundle = ctx.runfolder.resolve(signature.signature) if signature else None
    return SbomInputs(
        model=model,
        runtime=read_runtime(model_dir, license_of=installed_license),
        timestamp=runfacts.now(ctx),
        datasets=runfacts.datasets(ctx, manifest),
        performance=_performance(ctx, manifest),
        considerations=considerations_from_config(
            ctx.config.get("sbom.considerations") or None, ctx.config.where("sbom.considerations")
        ),
        signature_bundle=signature.signature if signature else None,
        signature_sha256=_sha256(bundle) if bundle is not None and bundle.is_file() else None,
    )


def _sha256(path: Path) -> str:
    from modelci.digests import file_sha256

    return "sha256:" + file_sha256(path)


def _performance(ctx: Context, manifest: Manifest) -> Performance:
    from modelci.comparing.decision import Decision, RuleVerdict
    from modelci.sbom import ComparedMetric, Interval, Performance, TrainMetric

    train = manifest.train
    metrics = tuple(
        TrainMetric(name, float(value)) for name, value in (train.metrics if train else {}).items()
    )
    compared: list[ComparedMetric] = []
    baseline = None
    if manifest.compare is not None:
        decision = Decision.read(ctx.runfolder.resolve(manifest.compare.decision))
        baseline = decision.production.uri if decision.production else None
        for item in (*decision.rules, *decision.slices):
            if not isinstance(item, RuleVerdict):
                continue  # a skipped slice was not judged
            low, high = item.interval
            compared.append(
                ComparedMetric(
                    metric=item.metric,
                    candidate=item.candidate,
                    production=item.production,
                    difference=item.difference,
                    interval=Interval(low, high, item.confidence)
                    if low is not None and high is not None
                    else None,
                    passed=item.passed,
                    slice=None if item.scope == "all rows" else item.scope,
                    rows=item.rows,
                )
            )
    return Performance(train=metrics, compared=tuple(compared), baseline=baseline)


def _also_to(ctx: Context, key: str, data: bytes, result: StepResult) -> None:
    """Write a copy where the user asked, once the run folder holds the document."""
    target = ctx.config.path(key)
    if target is None:
        return

    def copy() -> None:
        from modelci import fsutil

        fsutil.write_bytes(target, data)

    result.record.recorded.append(copy)


SPEC = StepSpec(
    name=STEP,
    help="""Write the model's bill of materials: CycloneDX 1.6 ML-BOM or SPDX 3.0.1.

    MODEL defaults to the model folder train recorded; the document goes to the run
    folder's sbom/ (and to --output). Exit 0 when written, 2 when a fact is missing (run
    train first) or the model's requirements are not pinned.""",
    run=run,
    inputs=(
        Input("model", "sbom.model", "Model folder to describe.", positional=True),
        Input("output", "sbom.output", "Also write the document here."),
        Input("format", "sbom.format", "Document format."),
    ),
    outputs=(
        Output("sbom", "Path of the document in the run folder."),
        Output("digest", "sha256 of the document."),
        Output("format", "Its format."),
    ),
    extras=("sbom", "registry"),
)
