"""compare: the candidate reaches production only if it beats the model already there.

Both models predict the same evaluation rows; each rule's decision comes from a paired
bootstrap interval of the metric difference (and McNemar's test for accuracy). Outputs:
``<run>/compare/decision.json``, report.json/summary.md/junit.xml, and report.html with PNGs.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci import cicontext, fsutil, reports
from modelci.clock import utc_now
from modelci.comparing import evaluate
from modelci.comparing.evaluate import LoadedModel
from modelci.comparing.metrics import METRICS, Predictions, Task, point
from modelci.comparing.rules import Rule, Verdict, decide, parse_rules
from modelci.comparing.slices import Slice, SliceSpec, build, parse_slices
from modelci.comparing.verdict import sha256_of
from modelci.config import Config
from modelci.errors import DataError, GateFailed, InputError
from modelci.inputs import Input, Output
from modelci.registry import client as registry
from modelci.registry import orphans, tags
from modelci.registry.client import VersionRef
from modelci.registry.connection import RetryPolicy, reachable
from modelci.registry.evidence import GateRecord
from modelci.registry.location import Location, locate, require_lasting
from modelci.registry.store import using
from modelci.results import Check, StepResult
from modelci.runfolder import RunFolder
from modelci.step import Context, StepSpec

if TYPE_CHECKING:
    import pandas as pd

STEP = "compare"


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


def run(config: Config, runfolder: RunFolder, env: Mapping[str, str] | None = None) -> StepResult:
    env = os.environ if env is None else env
    ci = cicontext.detect(env, config.base_dir)
    manifest = runfolder.read()
    location = locate(config, runfolder.path, env)
    require_lasting(location, config, ci, STEP)
    policy = RetryPolicy.from_settings(config.get("train.tracking"))
    with reachable(location, policy, env):
        return _run(config, runfolder, manifest, location)


def _run(
    config: Config, runfolder: RunFolder, manifest: dict[str, Any], location: Location
) -> StepResult:
    client = None if location.missing() else registry.client(location)
    inputs = _inputs(config, manifest, runfolder, location, client)
    settings: dict[str, Any] = config.get("compare") or {}
    # Rules are checked before any model loads when the task is already known: a typo in
    # modelci.yaml should fail in milliseconds.
    if inputs.task is not None:
        parse_rules(settings.get("rules"), inputs.task, config.where("compare.rules"))
        parse_slices(settings.get("slices"), inputs.task, config.where("compare.slices"))
    step_dir = runfolder.step_dir(STEP)
    with using(location.uri), tempfile.TemporaryDirectory(prefix="modelci-compare-") as tmp:
        workspace = Path(tmp)
        # Both folders are fetched and checked against the registry before either loads:
        # loading a model runs its code.
        candidate_dir = evaluate.fetch("candidate", inputs.candidate_uri, workspace)
        candidate_digest = _checked_digest("candidate", candidate_dir, inputs.candidate_ref)
        production_dir = production_digest = None
        if inputs.production_uri is not None:
            production_dir = evaluate.fetch("production", inputs.production_uri, workspace)
            production_digest = _checked_digest("production", production_dir, inputs.production)
        candidate = evaluate.load(
            "candidate", inputs.candidate_uri, candidate_dir, version=inputs.candidate_version
        )
        production = None
        if inputs.production_uri is not None and production_dir is not None:
            production = evaluate.load(
                "production",
                inputs.production_uri,
                production_dir,
                version=inputs.production.version if inputs.production else None,
            )
            evaluate.check_same_inputs(candidate, production)
        decision, plots_input = _compare(config, settings, inputs, candidate, production)
    decision["registry"] = location.display
    decision["candidate"]["digest"] = candidate_digest
    if decision["production"] is not None:
        decision["production"]["digest"] = production_digest
    decision = _plain(decision)
    result = _result(decision)
    # The exact bytes are the evidence: their digest is what the registry records.
    data = (json.dumps(decision, indent=2) + "\n").encode("utf-8")
    if client is not None and inputs.candidate_ref is not None:
        _record_verdict(client, location, inputs.candidate_ref, decision, candidate_digest, data)
    fsutil.write_bytes(step_dir / "decision.json", data)
    result.files["decision"] = step_dir / "decision.json"
    result.outputs["decision"] = str(step_dir / "decision.json")
    if settings.get("html", True):
        from modelci.comparing import html

        page = html.write_report(step_dir, decision, *plots_input)
        result.files["html"] = page
        result.outputs["html"] = str(page)
    reports.write_step_reports(result, step_dir)
    runfolder.record_step(
        STEP,
        passed=result.passed,
        facts={
            "report": runfolder.relative(result.files["report"]),
            "compare": {
                "passed": decision["passed"],
                "summary": decision["summary"],
                "candidate": decision["candidate"],
                "production": decision["production"],
                "decision": runfolder.relative(step_dir / "decision.json"),
                "decision_sha256": sha256_of(data),
                "rules": [
                    {k: r[k] for k in ("metric", "scope", "passed", "difference", "interval")}
                    for r in decision["rules"]
                ],
                **(
                    {"html": runfolder.relative(result.files["html"])}
                    if "html" in result.files
                    else {}
                ),
            },
        },
    )
    return result


def _checked_digest(role: str, folder: Path, registered: VersionRef | None) -> str:
    """The folder's model digest, which must be the one the registry holds for the version
    it claims to be: otherwise the gate would judge one model and promote another."""
    from modelci.training.digest import model_digest

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


def _record_verdict(
    client: Any,
    location: Location,
    candidate: VersionRef,
    decision: Mapping[str, Any],
    candidate_digest: str,
    data: bytes,
) -> None:
    """Write the verdict on the candidate's version, where promote re-reads it."""
    production = decision["production"]
    if not candidate.tags.get(tags.MODEL_DIGEST):
        found = {tags.MODEL_DIGEST: candidate_digest}
        registry.set_tags(client, location, candidate.name, candidate.version, found)
    record = GateRecord(
        passed=bool(decision["passed"]),
        decision_sha256=sha256_of(data),
        candidate_digest=candidate_digest,
        champion=production["version"] if production else None,
        champion_digest=production["digest"] if production else None,
        alias=str(decision["alias"]),
        at=utc_now(),
        summary=str(decision["summary"]),
    )
    registry.set_tags(client, location, candidate.name, candidate.version, record.to_tags())


def _inputs(
    config: Config,
    manifest: Mapping[str, Any],
    runfolder: RunFolder,
    location: Location,
    client: Any,
) -> Inputs:
    train: Mapping[str, Any] = manifest.get("train") or {}
    notes: list[str] = []
    model = registry.model_name(config, _text(train.get("registered_model")))
    if client is not None and model is not None:
        known = orphans.Known(_text(train.get("model_version")), _text(train.get("run_id")))
        notes += orphans.sweep(client, location, model, known)
    # candidate: an explicit URI wins; otherwise train's local model folder (no download)
    candidate_uri = config.get("compare.candidate")
    candidate_version: str | None = None
    candidate_label = str(candidate_uri or train.get("model_uri") or "")
    candidate_name = model
    if candidate_uri is None:
        if train.get("model_path") and runfolder.resolve(str(train["model_path"])).is_dir():
            candidate_uri = str(runfolder.resolve(str(train["model_path"])).resolve())
            candidate_label = candidate_label or str(train["model_path"])
        elif train.get("model_uri"):
            candidate_uri = str(train["model_uri"])
        else:
            raise InputError(
                f"{runfolder.manifest_path}: no candidate model; run `modelci train` first "
                "or pass --candidate URI"
            )
        candidate_version = _text(train.get("model_version"))
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
        data = _read_dataset(config, data_path)
        source = str(data_path)
    elif train.get("eval_data"):
        path = runfolder.resolve(str(train["eval_data"]))
        data_digest = _checked_eval_digest(path, candidate_ref)
        data = _read_parquet(path)
        source = str(path)
    else:
        raise InputError(
            f"{runfolder.manifest_path}: no evaluation set; run `modelci train` first "
            "or pass --data FILE"
        )
    target = train.get("target") or config.get("data.target")
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
    task = train.get("task")
    if task is not None and task not in ("classification", "regression"):
        raise InputError(f"{runfolder.manifest_path}: train.task {task!r} is not a known task")
    classes = list(train["classes"]) if train.get("classes") else None
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
    from modelci.data.digest import file_sha256

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


def _read_dataset(config: Config, path: Path) -> pd.DataFrame:
    from modelci.data.configured import read_configured

    dataset = read_configured(config, path)
    if dataset.rows == 0:
        raise DataError(path, "has a header but no rows; evaluate on a file with rows")
    table: Any = dataset.table
    frame: pd.DataFrame = table.to_pandas() if hasattr(table, "to_pandas") else table
    return frame


PlotInput = tuple[Predictions, Predictions | None]


def _compare(
    config: Config,
    settings: Mapping[str, Any],
    inputs: Inputs,
    candidate: LoadedModel,
    production: LoadedModel | None,
) -> tuple[dict[str, Any], PlotInput]:
    from modelci.comparing import stats

    models = [m for m in (candidate, production) if m is not None]
    features = evaluate.feature_frame(inputs.data, models, inputs.data_source, inputs.target)
    y_true = inputs.data[inputs.target].to_numpy()
    task: Task = inputs.task or evaluate.infer_task(candidate, y_true)
    rules = parse_rules(settings.get("rules"), task, config.where("compare.rules"))
    slice_specs = parse_slices(settings.get("slices"), task, config.where("compare.slices"))

    outputs = [evaluate.raw_predict(m, features, task) for m in models]
    labels = (
        evaluate.class_labels(y_true, outputs, inputs.classes) if task == "classification" else []
    )
    preds = [evaluate.encode(task, y_true, out, labels) for out in outputs]
    cand_pred = preds[0]
    prod_pred = preds[1] if production is not None else None
    wanted = {r.metric for r in rules} | {s.rule.metric for s in slice_specs}
    for model, pred in zip(models, preds, strict=True):
        for name in sorted(wanted):
            if METRICS[name].needs_proba and pred.proba is None:
                raise InputError(
                    f"metric {name!r} needs class probabilities, but the {model.role} model "
                    f"({model.uri}) gives none; drop the rule or log a model with predict_proba"
                )

    confidence = float(settings.get("confidence", 0.95))
    resamples = int(settings.get("resamples", 2000))
    seed = int(settings.get("seed", 0))
    info_names = [
        n
        for n, m in METRICS.items()
        if m.task == task and (not m.needs_proba or all(p.proba is not None for p in preds))
    ]
    metric_values = {
        "candidate": _point_values(info_names, cand_pred),
        "production": _point_values(info_names, prod_pred) if prod_pred is not None else {},
    }
    decision: dict[str, Any] = {
        "step": STEP,
        "passed": True,
        "summary": "",
        "task": task,
        "rows": len(cand_pred),
        "data": inputs.data_source,
        "data_digest": inputs.data_digest,
        "alias": str(config.get("registry.alias") or "champion"),
        "confidence": confidence,
        "resamples": resamples,
        "seed": seed,
        "candidate": {
            "uri": inputs.candidate_label,
            "name": inputs.model_name,
            "version": inputs.candidate_version,
            **(
                {"path": inputs.candidate_uri}
                if inputs.candidate_uri != inputs.candidate_label
                else {}
            ),
        },
        "production": (
            {
                "uri": inputs.production_uri,
                "version": inputs.production.version if inputs.production else None,
                "alias": inputs.production.alias if inputs.production else None,
                "name": inputs.production.name if inputs.production else None,
            }
            if production is not None
            else None
        ),
        "policy": {"no_production": settings.get("no_production", "pass")},
        "rules": [],
        "slices": [],
        "budgets": [],
        "metrics": metric_values,
        "notes": list(inputs.notes),
    }
    use_mcnemar = bool(settings.get("mcnemar", True))
    if prod_pred is not None:
        diffs = stats.paired_differences(
            [METRICS[r.metric] for r in rules], cand_pred, prod_pred, resamples=resamples, seed=seed
        )
        for rule in rules:
            verdict = _verdict(
                rule, cand_pred, prod_pred, diffs[rule.metric], confidence, use_mcnemar
            )
            decision["rules"].append(verdict.to_dict())
        for spec in slice_specs:
            for piece in build(spec, inputs.data, inputs.data_source):
                decision["slices"].append(
                    _slice_verdict(
                        piece, cand_pred, prod_pred, confidence, resamples, seed, use_mcnemar
                    )
                )
    decision["budgets"] = _budgets(settings, candidate, production, features)
    _decide(decision, settings)
    return decision, (cand_pred, prod_pred)


def _point_values(names: list[str], pred: Predictions | None) -> dict[str, float | None]:
    if pred is None:
        return {}
    values: dict[str, float | None] = {}
    for name in names:
        value = point(METRICS[name], pred)
        values[name] = value if value == value else None  # NaN: undefined on these rows
    return values


def _verdict(
    rule: Rule,
    cand: Predictions,
    prod: Predictions,
    diff: Any,
    confidence: float,
    use_mcnemar: bool,
    *,
    scope: str | None = None,
) -> Verdict:
    from modelci.comparing import stats

    metric = METRICS[rule.metric]
    interval = stats.percentile_interval(diff, confidence)
    test = None
    if use_mcnemar and metric.accuracy_type:
        test = stats.mcnemar(cand.correct, prod.correct)
    return decide(
        rule, point(metric, prod), point(metric, cand), interval, test, scope=scope, rows=len(cand)
    )


def _slice_verdict(
    piece: Slice,
    cand: Predictions,
    prod: Predictions,
    confidence: float,
    resamples: int,
    seed: int,
    use_mcnemar: bool,
) -> dict[str, Any]:
    from modelci.comparing import stats

    spec: SliceSpec = piece.spec
    if piece.rows < spec.min_rows:
        return {
            "metric": spec.rule.metric,
            "scope": piece.scope,
            "rows": piece.rows,
            "rule": spec.rule.kind,
            "passed": True,
            "skipped": f"{piece.rows} rows < min_rows {spec.min_rows}",
        }
    c, p = cand.subset(piece.mask), prod.subset(piece.mask)
    diffs = stats.paired_differences(
        [METRICS[spec.rule.metric]], c, p, resamples=resamples, seed=seed
    )
    verdict = _verdict(
        spec.rule, c, p, diffs[spec.rule.metric], confidence, use_mcnemar, scope=piece.scope
    )
    return verdict.to_dict()


def _budgets(
    settings: Mapping[str, Any],
    candidate: LoadedModel,
    production: LoadedModel | None,
    features: pd.DataFrame,
) -> list[dict[str, Any]]:
    from modelci.comparing import budgets

    limits: Mapping[str, Any] = settings.get("budgets") or {}
    found: list[dict[str, Any]] = []
    if limits.get("max_size_mb") is not None:
        size = budgets.size_mb(candidate.local_path)
        limit = float(limits["max_size_mb"])
        found.append(
            {
                "name": "size_mb",
                "candidate": round(size, 3),
                "production": round(budgets.size_mb(production.local_path), 3)
                if production
                else None,
                "limit": limit,
                "passed": size <= limit,
            }
        )
    if limits.get("max_p95_latency_ms") is not None:
        samples = int(limits.get("latency_samples", 100))
        latency = budgets.p95_latency_ms(candidate, features, samples)
        limit = float(limits["max_p95_latency_ms"])
        found.append(
            {
                "name": "p95_latency_ms",
                "candidate": round(latency, 3),
                "production": (
                    round(budgets.p95_latency_ms(production, features, samples), 3)
                    if production
                    else None
                ),
                "limit": limit,
                "passed": latency <= limit,
            }
        )
    return found


def _decide(decision: dict[str, Any], settings: Mapping[str, Any]) -> None:
    failed_rules = [r for r in decision["rules"] if not r["passed"]]
    failed_slices = [s for s in decision["slices"] if not s["passed"]]
    failed_budgets = [b for b in decision["budgets"] if not b["passed"]]
    if decision["production"] is None:
        policy = settings.get("no_production", "pass")
        first = "; ".join(decision["notes"]) or "no production model"
        decision["passed"] = policy == "pass" and not failed_budgets
        decision["summary"] = (
            f"no production model to compare with ({first}): "
            f"{'passed' if policy == 'pass' else 'failed'} under the no_production: {policy} policy"
            + (f"; budget exceeded: {_names(failed_budgets, 'name')}" if failed_budgets else "")
        )
        return
    decision["passed"] = not (failed_rules or failed_slices or failed_budgets)
    failures = [*failed_rules, *failed_slices]
    parts = [_failure(item) for item in failures[:3]]
    if len(failures) > 3:
        parts.append(f"{len(failures) - 3} more rules failed")
    if failed_budgets:
        parts.append(f"over budget on {_names(failed_budgets, 'name')}")
    judged = len(decision["rules"]) + len([s for s in decision["slices"] if not s.get("skipped")])
    if decision["passed"]:
        decision["summary"] = (
            f"compare passed: the candidate meets all {judged} rules against production"
        )
    else:
        decision["summary"] = f"compare failed: {'; '.join(parts)}"


def _failure(item: Mapping[str, Any]) -> str:
    """Why one rule failed, honestly: "may be worse", since a wide interval is not a loss."""
    where = item["metric"] + ("" if item["scope"] == "all rows" else f" on {item['scope']}")
    low, bound = item.get("improvement_low"), float(item["threshold"])
    if low is None or not math.isfinite(low):
        return f"{where} is undefined on these rows"
    evidence = f"{item['confidence']:.0%} lower bound of the improvement {low:+.4g}"
    if item["rule"] == "must improve":
        return f"{where} did not improve by more than {bound:.4g} ({evidence})"
    return f"{where} may be worse than production by more than {-bound:.4g} ({evidence})"


def _plain(value: Any) -> Any:
    """NaN and infinities are not JSON: an undefined value is written as null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        return _plain(item())
    return value


def _names(items: list[dict[str, Any]], key: str) -> str:
    shown = [str(i[key]) for i in items[:3]]
    return ", ".join(shown) + (f" (+{len(items) - 3} more)" if len(items) > 3 else "")


def _result(decision: dict[str, Any]) -> StepResult:
    from modelci.comparing.report import markdown

    checks: list[Check] = []
    for item in [*decision["rules"], *decision["slices"]]:
        checks.append(_check(item))
    for item in decision["budgets"]:
        checks.append(
            Check(
                rule=f"budget {item['name']}",
                passed=bool(item["passed"]),
                observed=item["candidate"],
                expected=f"<= {item['limit']:g}",
                message=f"candidate {item['name']} {item['candidate']} vs limit {item['limit']}",
            )
        )
    if decision["production"] is None:
        policy = decision["policy"]["no_production"]
        # A pass without a production model is not a comparison: a failed check of severity
        # warning, so CI shows it as a warning annotation rather than a silent green.
        checks.append(
            Check(
                rule="production model exists",
                passed=False,
                observed="none",
                expected=f"no_production: {decision['policy']['no_production']}",
                message=decision["summary"],
                severity="warning" if policy == "pass" else "error",
            )
        )
    outputs = {
        "candidate": str(decision["candidate"]["uri"]),
        "production": str((decision["production"] or {}).get("uri") or ""),
    }
    metrics: dict[str, float] = {}
    for role in ("candidate", "production"):
        for name, value in decision["metrics"].get(role, {}).items():
            if value is not None:
                metrics[f"{role}_{name}"] = float(value)
    return StepResult(
        step=STEP,
        passed=bool(decision["passed"]),
        summary=str(decision["summary"]),
        checks=checks,
        outputs=outputs,
        metrics=metrics,
        markdown=markdown(decision),
        details={"decision": decision},
    )


def _check(item: Mapping[str, Any]) -> Check:
    if item.get("skipped"):
        return Check(
            rule=f"{item['metric']} {item['rule']}",
            passed=True,
            column=str(item["scope"]),
            observed=f"{item['rows']} rows",
            message=f"not judged: {item['skipped']}",
            severity="warning",
        )
    return Check(
        rule=f"{item['metric']} {item['rule']}",
        passed=bool(item["passed"]),
        column=None if item["scope"] == "all rows" else str(item["scope"]),
        observed=item.get("improvement_low"),
        expected=f"> {item['threshold']:+.4g}",
        message=str(item["reason"]),
    )


def _step(ctx: Context) -> StepResult:
    return run(ctx.config, ctx.runfolder, ctx.env)


SPEC = StepSpec(
    name=STEP,
    help="""Compare the candidate with the production model on the same rows, and decide.

    A paired bootstrap interval per metric (and McNemar's test) says whether the candidate
    may replace production. Exit 0 when every rule passes, 1 when the candidate may be worse,
    2 on bad input.""",
    run=_step,
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
    legacy=True,
)
