"""compare: the candidate reaches production only if it beats the model already there.

This step resolves what is compared (the candidate, the production model, the evaluation
set) from flags, config, the manifest and the registry; fetches both models and checks their
digests against the registry *before* either loads; hands them to :mod:`modelci.comparing`,
which judges; and records the verdict on the candidate's registry version and in the run
folder. Outputs: ``<run>/compare/decision.json``, report.json/summary.md/junit.xml, and
report.html with PNGs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci.cicontext import CIContext
from modelci.comparing.context import ReportContext, mlflow_base, run_page, version_page
from modelci.comparing.decision import Decision, ModelSide
from modelci.config import Config
from modelci.digests import file_sha256, model_digest, sha256_of
from modelci.errors import DataError, GateFailed, InputError
from modelci.inputs import Input, Output
from modelci.manifest import CompareFacts, Manifest, RuleFacts
from modelci.manifest import ModelSide as ModelFacts
from modelci.metrics import Task
from modelci.models import loading
from modelci.registry import client as registry
from modelci.registry import orphans, tags
from modelci.registry.client import VersionRef
from modelci.registry.connection import RetryPolicy, reachable
from modelci.registry.evidence import GateRecord
from modelci.registry.location import Location, locate, require_lasting
from modelci.registry.store import using
from modelci.results import StepResult
from modelci.runfolder import RunFolder
from modelci.step import Context, StepSpec
from modelci.steps.scan import refuse_unsafe
from modelci.timestamps import utc_now

if TYPE_CHECKING:
    import pandas as pd

STEP = "compare"
DECISION = "decision.json"


@dataclass
class Inputs:
    """What the comparison runs on, resolved from flags, config and the manifest."""

    candidate_uri: str
    candidate_version: str | None
    #: how the candidate is named in reports: its registry URI even when loaded from a folder
    candidate_label: str
    #: the candidate's registered version as the registry describes it (its digest tag)
    candidate_ref: VersionRef | None
    production: VersionRef | None
    production_uri: str | None
    data: pd.DataFrame
    data_source: str
    #: sha256 of the evaluation file when it is train's holdout (checked against the registry)
    data_digest: str | None
    target: str
    task: Task | None
    classes: list[Any] | None
    model_name: str | None
    notes: list[str] = field(default_factory=list)


def run(ctx: Context) -> StepResult:
    config, runfolder = ctx.config, ctx.runfolder
    manifest = runfolder.manifest()
    location = locate(config, runfolder.path, ctx.env)
    require_lasting(location, config, ctx.ci, STEP)
    ctx.step_dir(STEP)  # a run folder that cannot take the record fails before any work
    policy = RetryPolicy.from_settings(config.get("train.tracking"))
    with reachable(location, policy, ctx.env):
        return _run(config, runfolder, manifest, location, ctx.ci)


def _run(
    config: Config,
    runfolder: RunFolder,
    manifest: Manifest,
    location: Location,
    ci: CIContext,
) -> StepResult:
    # numpy, pandas and the models' libraries load only when a comparison runs
    from modelci.comparing.comparison import EvaluationSet, compare
    from modelci.comparing.result import step_result
    from modelci.comparing.settings import Settings

    client = None if location.missing() else registry.client(location)
    inputs = _inputs(config, manifest, runfolder, location, client)
    settings = Settings.from_config(config)
    # Rules are checked before any model loads when the task is already known: a typo in
    # modelci.yaml should fail in milliseconds.
    if inputs.task is not None:
        settings.rules(inputs.task)
        settings.slices(inputs.task)
    step_dir = runfolder.step_dir(STEP)
    with using(location.uri), tempfile.TemporaryDirectory(prefix="modelci-compare-") as tmp:
        workspace = Path(tmp)
        # Both folders are fetched and checked against the registry before either loads:
        # loading a model runs its code.
        candidate_dir = loading.fetch("candidate", inputs.candidate_uri, workspace)
        candidate_digest = _checked_digest("candidate", candidate_dir, inputs.candidate_ref)
        production_dir = production_digest = None
        if inputs.production_uri is not None:
            production_dir = loading.fetch("production", inputs.production_uri, workspace)
            production_digest = _checked_digest("production", production_dir, inputs.production)
            if inputs.production is not None and client is not None:
                _verify_signed(config, client, inputs.production, production_dir, workspace)
        # A model file is code that runs when it loads: both are scanned first.
        refuse_unsafe(config, "candidate", candidate_dir)
        if production_dir is not None:
            refuse_unsafe(config, "production", production_dir)
        candidate = loading.load(
            "candidate", inputs.candidate_uri, candidate_dir, version=inputs.candidate_version
        )
        production = None
        if inputs.production_uri is not None and production_dir is not None:
            production = loading.load(
                "production",
                inputs.production_uri,
                production_dir,
                version=inputs.production.version if inputs.production else None,
            )
        outcome = compare(
            settings,
            EvaluationSet(
                inputs.data,
                inputs.data_source,
                inputs.data_digest,
                inputs.target,
                inputs.task,
                inputs.classes,
                holdout=config.path("compare.data") is None,
            ),
            candidate,
            production,
            candidate_side=ModelSide(
                uri=inputs.candidate_label,
                name=inputs.model_name,
                version=inputs.candidate_version,
                digest=candidate_digest,
                path=inputs.candidate_uri
                if inputs.candidate_uri != inputs.candidate_label
                else None,
            ),
            production_side=ModelSide(
                uri=inputs.production_uri,
                name=inputs.production.name if inputs.production else None,
                version=inputs.production.version if inputs.production else None,
                digest=production_digest,
                alias=inputs.production.alias if inputs.production else None,
            ),
            notes=inputs.notes,
            registry=location.display,
        )
    decision = outcome.decision
    result = step_result(decision)
    # The exact bytes are the evidence: their digest is what the registry records.
    data = decision.to_bytes()
    if client is not None and inputs.candidate_ref is not None:
        _record_verdict(client, location, inputs.candidate_ref, decision, data)
    step_dir = runfolder.step_dir(STEP)
    files: dict[str, str | bytes] = {DECISION: data}
    result.files["decision"] = step_dir / DECISION
    result.outputs["decision"] = str(step_dir / DECISION)
    if settings.html:
        from modelci.comparing import html

        context = _report_context(ci, location, client, inputs)
        files.update(html.report_files(decision, outcome.candidate, outcome.production, context))
        result.files["html"] = step_dir / html.REPORT
        result.outputs["html"] = str(step_dir / html.REPORT)
    result.record.files.update(files)
    result.record.section = CompareFacts(
        passed=decision.passed,
        summary=decision.summary,
        candidate=_side(decision.candidate.candidate_json()),
        production=None
        if decision.production is None
        else _side(decision.production.production_json()),
        decision=runfolder.relative(step_dir / DECISION),
        decision_sha256=sha256_of(data),
        rules=tuple(
            RuleFacts(
                metric=r.metric,
                scope=r.scope,
                passed=r.passed,
                difference=r.difference,
                interval=tuple(r.interval),
            )
            for r in decision.rules
        ),
        html=runfolder.relative(result.files["html"]) if "html" in result.files else None,
    )
    return result


def _side(data: Mapping[str, Any]) -> ModelFacts:
    return ModelFacts(
        **{k: data.get(k) for k in ("uri", "name", "version", "alias", "digest", "path")}
    )


def _verify_signed(
    config: Config, client: Any, version: VersionRef, folder: Path, workspace: Path
) -> None:
    """A production model that was signed must verify before it loads."""
    path = version.tags.get(tags.SIGNATURE)
    if not path or not version.run_id:
        return
    from modelci.signing import verify_model
    from modelci.signing.settings import ignored, required_verifier

    verifier = required_verifier(
        config, f"production model {version.name} version {version.version} is signed"
    )
    target = workspace / "production-signature"
    target.mkdir(exist_ok=True)
    bundle = Path(client.download_artifacts(version.run_id, path, str(target)))
    verify_model(folder, bundle, verifier, ignore=ignored(config))


def _checked_digest(role: str, folder: Path, registered: VersionRef | None) -> str:
    """The folder's model digest, which must be the one the registry holds for the version
    it claims to be: otherwise the gate would judge one model and promote another."""
    found = model_digest(folder)
    expected = registered.tags.get(tags.MODEL_DIGEST) if registered is not None else None
    if expected and found != expected:
        assert registered is not None
        raise GateFailed(
            f"{role} model folder {folder} is not {registered.name} version "
            f"{registered.version}: its digest is {found}, the registry records {expected}; "
            f"rerun `modelci train` (or fetch the version again) and compare again"
        )
    return found


def _report_context(
    ci: CIContext, location: Location, client: Any, inputs: Inputs
) -> ReportContext:
    """Commit, data and MLflow pages for the HTML report; links only to an MLflow server
    (its display URI: never with credentials)."""
    candidate, production = inputs.candidate_ref, inputs.production
    base = mlflow_base(location.uri)
    run = None
    if base and client is not None and candidate is not None and candidate.run_id:
        experiment = _experiment_of(client, candidate.run_id)
        run = run_page(base, experiment, candidate.run_id) if experiment else None
    return ReportContext(
        commit=ci.commit,
        ci_run=ci.run_url,
        training_data_digest=candidate.tags.get(tags.DATASET_DIGEST) if candidate else None,
        candidate_run=run,
        candidate_version=version_page(base, candidate.name, candidate.version)
        if base and candidate
        else None,
        production_version=version_page(base, production.name, production.version)
        if base and production
        else None,
    )


def _experiment_of(client: Any, run_id: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_run(run_id).info.experiment_id)
    except (MlflowException, OSError):
        return None  # a link is a convenience: the report is written without it


def _record_verdict(
    client: Any,
    location: Location,
    candidate: VersionRef,
    decision: Decision,
    data: bytes,
) -> None:
    """Write the verdict on the candidate's version, where promote re-reads it."""
    production = decision.production
    candidate_digest = str(decision.candidate.digest)
    if not candidate.tags.get(tags.MODEL_DIGEST):
        found = {tags.MODEL_DIGEST: candidate_digest}
        registry.set_tags(client, location, candidate.name, candidate.version, found)
    record = GateRecord(
        passed=decision.passed,
        decision_sha256=sha256_of(data),
        candidate_digest=candidate_digest,
        champion=production.version if production else None,
        champion_digest=production.digest if production else None,
        alias=str(decision.alias),
        at=utc_now(),
        summary=decision.summary,
    )
    registry.set_tags(client, location, candidate.name, candidate.version, record.to_tags())


def _inputs(
    config: Config,
    manifest: Manifest,
    runfolder: RunFolder,
    location: Location,
    client: Any,
) -> Inputs:
    train = manifest.train
    notes: list[str] = []
    model = registry.model_name(config, train.registered_model if train else None)
    if client is not None and model is not None:
        known = orphans.Known(
            train.model_version if train else None, train.run_id if train else None
        )
        notes += orphans.sweep(client, location, model, known)
    # candidate: an explicit URI wins; otherwise train's local model folder (no download)
    candidate_uri = config.get("compare.candidate")
    candidate_version: str | None = None
    candidate_label = str(candidate_uri or (train.model_uri if train else ""))
    candidate_name = model
    if candidate_uri is None:
        if train and train.model_path and runfolder.resolve(train.model_path).is_dir():
            candidate_uri = str(runfolder.resolve(train.model_path).resolve())
            candidate_label = candidate_label or train.model_path
        elif train:
            candidate_uri = train.model_uri
        else:
            raise InputError(
                f"{runfolder.manifest_path}: no candidate model; run `modelci train` first "
                "or pass --candidate URI"
            )
        candidate_version = train.model_version if train else None
    elif str(candidate_uri).startswith("models:/"):
        candidate_name, candidate_version, _ = registry.parse_models_uri(str(candidate_uri))
    candidate_ref = None
    if client is not None and candidate_name and candidate_version:
        candidate_ref = registry.version(client, location, candidate_name, candidate_version)
        if candidate_ref is None and config.get("compare.candidate"):
            raise InputError(
                f"{config.where('compare.candidate')}: {config.get('compare.candidate')} is not "
                f"a registered version in {location.display}; pass a models:/ URI of one"
            )
        if candidate_ref is None:
            raise InputError(
                f"{runfolder.manifest_path}: the candidate {candidate_name} version "
                f"{candidate_version} is not in {location.display}; run `modelci train` "
                "against this registry"
            )
        problem = orphans.promotable(candidate_ref)
        if problem is not None:
            raise GateFailed(f"not comparing: {problem}")
        if not candidate_ref.tags.get(tags.MODEL_DIGEST):
            # Registered outside modelci train: no digest says which files the version is, so
            # judge the registry's own copy (and record its digest for promote).
            candidate_uri = candidate_ref.uri

    production, production_uri = _production(config, location, client, model, notes)

    data_path = config.path("compare.data")
    data_digest: str | None = None
    if data_path is not None:
        data, data_digest = _read_dataset(config, data_path)
        source = str(data_path)
    elif train and train.eval_data:
        path = runfolder.resolve(train.eval_data)
        data_digest = _checked_eval_digest(path, candidate_ref)
        data = _read_parquet(path)
        source = str(path)
    else:
        raise InputError(
            f"{runfolder.manifest_path}: no evaluation set; run `modelci train` first "
            "or pass --data FILE"
        )
    target = (train.target if train else None) or config.get("data.target")
    if not target:
        raise InputError(
            f"{config.where('data.target')}: no target column; set data.target to the label column"
        )
    if str(target) in data.columns:
        unlabeled = int(data[str(target)].isna().sum())
        if unlabeled:
            # rows without a label cannot be scored; say how many were left out
            data = data[data[str(target)].notna()].reset_index(drop=True)
            notes.append(f"{unlabeled} rows without a value of {target!r} were left out")
    task = train.task if train else None
    classes = list(train.classes) if train and train.classes else None
    return Inputs(
        str(candidate_uri),
        candidate_version,
        candidate_label,
        candidate_ref,
        production,
        production_uri,
        data,
        source,
        data_digest,
        str(target),
        task,
        classes,
        candidate_name,
        notes,
    )


def _checked_eval_digest(path: Path, candidate: VersionRef | None) -> str:
    """train's holdout must be the rows train held out for this version: whoever can edit the
    run folder must not be able to choose the rows the gate scores on."""
    try:
        found = "sha256:" + file_sha256(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the evaluation set ({exc.strerror})") from None
    expected = candidate.tags.get(tags.EVAL_DIGEST) if candidate is not None else None
    if expected and found != expected:
        raise GateFailed(
            f"evaluation set {path} is not the holdout train recorded for version "
            f"{candidate.version if candidate else '?'} (digest {found}, registry {expected}); "
            "rerun `modelci train` and compare again"
        )
    return found


def _production(
    config: Config, location: Location, client: Any, model: str | None, notes: list[str]
) -> tuple[VersionRef | None, str | None]:
    explicit = config.get("compare.production")
    if explicit:
        text = str(explicit)
        if text.startswith("models:/"):
            name, version, alias = registry.parse_models_uri(text)
            if alias is not None:
                ref = registry.require_alias(
                    client, location, name, alias, config.where("compare.production")
                )
                return ref, ref.uri
            if version and client is not None:
                found = registry.version(client, location, name, version)
                return found, text
            return None, text
        return None, text
    wanted = str(config.get("registry.alias") or "champion")
    if model is None:
        notes.append("no registered model name (registry.model_name) to look up production in")
        return None, None
    found = registry.alias_version(client, location, model, wanted)
    if found is None:
        notes.append(f"registered model {model!r} has no version behind alias {wanted!r} yet")
        return None, None
    return found, found.uri


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the evaluation set ({exc})") from None
    except Exception as exc:  # pyarrow raises its own ArrowInvalid for corrupt files
        raise InputError(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None


def _read_dataset(config: Config, path: Path) -> tuple[pd.DataFrame, str]:
    """The evaluation set given with --data, and its digest."""
    from modelci.data.configured import read_configured

    dataset = read_configured(config, path)
    if dataset.rows == 0:
        raise DataError(path, "has a header but no rows; evaluate on a file with rows")
    table: Any = dataset.table
    frame: pd.DataFrame = table.to_pandas() if hasattr(table, "to_pandas") else table
    return frame, dataset.digest


SPEC = StepSpec(
    name=STEP,
    help="""Compare the candidate with the production model on the same rows, and decide.

    A paired bootstrap interval per metric (and McNemar's test) says whether the candidate
    may replace production. Exit 0 when every rule passes, 1 when the candidate may be worse,
    2 on bad input.""",
    run=run,
    inputs=(
        Input(
            "candidate", "compare.candidate", "Candidate model URI or folder (default: train's)."
        ),
        Input(
            "production",
            "compare.production",
            "Production model URI (default: registry.model_name at registry.alias).",
        ),
        Input("data", "compare.data", "Evaluation set, CSV or Parquet (default: train's holdout)."),
        Input("confidence", "compare.confidence", "Confidence level of the intervals."),
        Input("resamples", "compare.resamples", "Paired bootstrap resamples."),
        Input("seed", "compare.seed", "Seed of the bootstrap."),
        Input(
            "no-production",
            "compare.no_production",
            "Decision when no production model exists yet.",
        ),
        Input("comment", "compare.comment", "Post or update the pull/merge request comment."),
        Input(
            "token",
            None,
            "Token that writes the pull request comment (needs pull-requests: write).",
            env="GITHUB_TOKEN",
            cli=False,
            action_default="${{ github.token }}",
        ),
        Input(
            "tracking-uri",
            "registry.tracking_uri",
            "MLflow tracking URI of a registry that outlives the job (else MLFLOW_TRACKING_URI).",
        ),
    ),
    outputs=(
        Output("decision", "Path of decision.json."),
        Output("html", "Path of the HTML report (empty when compare.html is false)."),
        Output("candidate", "Candidate model URI."),
        Output("production", "Production model URI (empty when there was none)."),
    ),
    comment="compare.comment",
    extras=("compare",),
)
