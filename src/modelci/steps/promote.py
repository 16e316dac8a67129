"""promote: move the production alias to the candidate, only on evidence it can re-derive.

A promotion needs the compare decision in the run folder AND the verdict compare recorded on
the candidate's version in the registry (see :mod:`modelci.registry.evidence`): the decision
file must hash to the recorded digest, say ``passed: true``, name the digest the registry
holds for the version, and have been made against the champion still behind the alias.

``promote.version`` (``--version N``) is a rollback: N must have served behind the alias
before, or carry a passed compare verdict; anything else needs ``promote.force`` with a
``promote.reason``, recorded with the actor. Everything that can fail (settings, a writable
run folder, the evidence) is checked before the registry changes; if recording fails after
the alias moved, the alias and tags are put back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelci.cicontext import CIContext
from modelci.comparing.decision import Decision
from modelci.errors import GateFailed, InputError
from modelci.inputs import Input, Output
from modelci.manifest import Manifest, PromoteFacts
from modelci.registry import client as registry
from modelci.registry import history, orphans, tags
from modelci.registry.client import VersionRef
from modelci.registry.connection import RetryPolicy, reachable
from modelci.registry.evidence import GateRecord
from modelci.registry.location import Location, locate, require_lasting
from modelci.results import Check, StepResult
from modelci.runfolder import RunFolder
from modelci.step import Context, StepSpec
from modelci.timestamps import utc_now

STEP = "promote"
DEFAULT_DECISION = "compare/decision.json"


@dataclass
class _Plan:
    """The change promote is about to make, and why it is allowed."""

    target: VersionRef
    kind: str  # promote | rollback | forced
    checks: list[Check] = field(default_factory=list)
    verdict: Decision | None = None
    reason: str | None = None


def run(ctx: Context) -> StepResult:
    config, runfolder = ctx.config, ctx.runfolder
    manifest = runfolder.manifest()
    train = manifest.train
    name = registry.model_name(config, train.registered_model if train else None)
    if name is None:
        raise InputError(
            f"{config.where('registry.model_name')}: no registered model to promote in; "
            "set registry.model_name or run `modelci train` first"
        )
    alias = str(config.get("registry.alias") or "champion")
    version = config.get("promote.version")
    dry_run = bool(config.get("promote.dry_run"))
    force = bool(config.get("promote.force"))
    reason = str(config.get("promote.reason") or "").strip() or None
    if force and version is None:
        raise InputError(
            f"{config.where('promote.force')}: force only applies to a chosen version; "
            "pass --version N with --force --reason '...'"
        )
    if force and reason is None:
        raise InputError(
            f"{config.where('promote.force')}: forcing a version needs a reason; pass "
            "--reason '...' (it is recorded on the version with who forced it)"
        )
    location = locate(config, runfolder.path, ctx.env)
    require_lasting(location, config, ctx.ci, STEP)
    # A run folder that cannot take the record must fail before the registry changes.
    ctx.step_dir(STEP)
    # What the run folder claims is read first: a missing decision needs no registry.
    verdict = None if version is not None else _claimed_verdict(runfolder, manifest)
    if isinstance(verdict, str):
        return _refused(name, alias, verdict)
    if location.missing():
        raise InputError(
            f"no model registry at {location.display}; run `modelci train` first, or set "
            f"registry.tracking_uri (or MLFLOW_TRACKING_URI) to the registry that holds {name!r}"
        )
    policy = RetryPolicy.from_settings(config.get("train.tracking"))
    with reachable(location, policy, ctx.env):
        mlflow = registry.client(location)
        known = orphans.Known(
            train.model_version if train else None, train.run_id if train else None
        )
        notes = orphans.sweep(mlflow, location, name, known)
        current = registry.alias_version(mlflow, location, name, alias)
        if verdict is not None:
            plan = _promotion(ctx, manifest, verdict, mlflow, location, name, alias, current)
        else:
            plan = _rollback(mlflow, location, name, alias, str(version), force, reason)
        if isinstance(plan, StepResult):
            plan.checks += [_housekeeping(note) for note in notes]
            return plan
        return _move(mlflow, location, ctx.ci, name, alias, current, plan, dry_run, notes)


def _claimed_verdict(runfolder: RunFolder, manifest: Manifest) -> Decision | str:
    """The decision the run folder points at, or why there is none to act on."""
    if manifest.compare is None:
        return (
            "no compare decision in the manifest: run `modelci compare` before promote "
            "(or roll back with --version N)"
        )
    try:
        verdict = Decision.read(runfolder.resolve(manifest.compare.decision))
    except GateFailed as exc:
        raise GateFailed(f"not promoting: {exc}") from None
    if not verdict.passed:
        return f"not promoting: {verdict.summary or 'compare failed'}"
    return verdict


def _promotion(
    ctx: Context,
    manifest: Manifest,
    verdict: Decision,
    mlflow: Any,
    location: Location,
    name: str,
    alias: str,
    current: VersionRef | None,
) -> _Plan | StepResult:
    """The candidate compare passed, once the evidence holds up; else a failed result."""
    number = verdict.candidate.version
    if not number:
        return _refused(
            name,
            alias,
            "not promoting: the compared candidate is not a registered model "
            "version; register it (train with registry.model_name) and compare again",
        )
    if verdict.candidate.name not in (None, name):
        return _refused(
            name, alias, f"not promoting: compare judged {verdict.candidate.name!r}, not {name!r}"
        )
    target = registry.version(mlflow, location, name, number)
    if target is None:
        return _refused(name, alias, f"not promoting: {name!r} has no version {number}")
    problem = _evidence_problem(target, verdict, current, alias)
    if problem is not None:
        return _refused(name, alias, f"not promoting version {number}: {problem}")
    checks = [
        Check(
            rule="compare decision passed",
            passed=True,
            observed="passed",
            expected="passed",
            message=verdict.summary,
        ),
        Check(
            rule="decision recorded in the registry",
            passed=True,
            observed=verdict.sha256[:19],
            expected="same decision",
        ),
    ]
    signed = _signed_verdict(ctx, manifest, verdict, target, current)
    if isinstance(signed, str):
        return _refused(name, alias, f"not promoting version {number}: {signed}")
    return _Plan(target, "promote", [*checks, *signed], verdict)


def _signed_verdict(
    ctx: Context,
    manifest: Manifest,
    verdict: Decision,
    target: VersionRef,
    current: VersionRef | None,
) -> list[Check] | str:
    """When the model is signed, the verdict promote acts on must be the one in the signed
    run facts, about the same files, the registered version and the same champion; with
    ``verify.required``, an unsigned model is refused."""
    from modelci.signing import verify_model
    from modelci.signing.settings import ignored, required_verifier
    from modelci.steps.verify import verified_run_facts

    if manifest.sign is None:
        if target.tags.get(tags.SIGNATURE):
            # The registry, not the run folder, says whether the version was signed: a run
            # folder without its sign record must not skip the signature check.
            return (
                "the registry says it is signed, but the run folder has no signature record; "
                "the run folder was changed: run `modelci sign` again"
            )
        if ctx.config.get("verify.required"):
            return "it is not signed and verify.required is true; run `modelci sign` first"
        return []
    verifier = required_verifier(ctx.config, f"{target.name} version {target.version} is signed")
    model = verify_model(
        ctx.runfolder.resolve(manifest.sign.model),
        ctx.runfolder.resolve(manifest.sign.signature),
        verifier,
        ignore=ignored(ctx.config),
    )
    facts = verified_run_facts(ctx, manifest, verifier, model).statement.predicate
    signed_model = facts.get("model")
    gate = facts.get("gate")
    if not isinstance(signed_model, dict) or signed_model.get("digest") != target.tags.get(
        tags.MODEL_DIGEST
    ):
        return "the signed model is not the registered version (its digest differs)"
    if (signed_model.get("name"), signed_model.get("version")) != (target.name, target.version):
        return (
            f"the run facts were signed for {signed_model.get('name')} version "
            f"{signed_model.get('version')}, not this version"
        )
    if not isinstance(gate, dict):
        return "the signed run facts carry no compare verdict; sign after compare"
    if gate.get("decision_sha256") != verdict.sha256 or gate.get("passed") is not True:
        return "the signed verdict is not the passed decision in the run folder; compare again"
    if gate.get("champion_version") != (current.version if current else None):
        return "the champion moved since the verdict was signed; compare and sign again"
    who = model.identity.name + (f" ({model.identity.issuer})" if model.identity.issuer else "")
    return [
        Check(rule="signature verifies", passed=True, observed=who, expected="configured signer"),
        Check(
            rule="signed verdict",
            passed=True,
            observed=str(gate.get("decision_sha256"))[:19],
            expected="the decision acted on",
        ),
    ]


def _evidence_problem(
    target: VersionRef, verdict: Decision, current: VersionRef | None, alias: str
) -> str | None:
    """Why the run folder's decision is not evidence for moving the alias to ``target``."""
    state = orphans.promotable(target)
    if state is not None:
        return state
    registered = target.tags.get(tags.MODEL_DIGEST)
    if not registered:
        return "the registry records no model digest for it (not registered by modelci train)"
    if verdict.candidate.digest != registered:
        return (
            f"the decision judged model {verdict.candidate.digest or '(no digest)'}, but the "
            f"registry holds {registered} for it; compare again"
        )
    record = GateRecord.from_tags(target.tags)
    if record is None:
        return "compare recorded no verdict on it in the registry; run `modelci compare`"
    if record.decision_sha256 != verdict.sha256:
        return (
            "the decision in the run folder is not the one compare recorded in the registry "
            f"(recorded {record.decision_sha256[:19]}…, found {verdict.sha256[:19]}…); "
            "run `modelci compare` again"
        )
    if not record.passed or record.candidate_digest != registered:
        return "the verdict recorded in the registry is not a pass for this model"
    if record.alias != alias:
        return f"compare judged it against alias {record.alias!r}, not {alias!r}"
    now_behind = current.version if current else None
    if now_behind != record.champion:
        return (
            f"the champion moved since compare decided (then {record.champion or 'none'}, "
            f"now {now_behind or 'none'}); run `modelci compare` again"
        )
    return None


def _rollback(
    mlflow: Any,
    location: Location,
    name: str,
    alias: str,
    number: str,
    force: bool,
    reason: str | None,
) -> _Plan | StepResult:
    target = registry.version(mlflow, location, name, number)
    if target is None:
        raise InputError(
            f"registered model {name!r} has no version {number} in {location.display}; "
            "pick an existing version"
        )
    state = orphans.promotable(target)
    if state is not None:
        return _refused(name, alias, f"not rolling back: {state}")
    record = GateRecord.from_tags(target.tags)
    allowed = None
    if history.served(target, alias):
        allowed = f"version {number} served behind {alias!r} before"
    elif record is not None and record.passed:
        allowed = f"version {number} passed compare ({record.at})"
    if allowed is not None:
        check = Check(rule="rollback allowed", passed=True, observed=allowed)
        return _Plan(target, "rollback", [check])
    if force:
        check = Check(rule="forced", passed=True, observed=reason, severity="warning")
        return _Plan(target, "forced", [check], reason=reason)
    why = f"version {number} never served behind {alias!r} and passed no compare"
    return _refused(
        name, alias, f"not rolling back: {why}; to move the alias anyway, pass --force --reason"
    )


def _move(
    mlflow: Any,
    location: Location,
    ci: CIContext,
    name: str,
    alias: str,
    current: VersionRef | None,
    plan: _Plan,
    dry_run: bool,
    notes: list[str],
) -> StepResult:
    target = plan.target.version
    previous = current.version if current else None
    change: dict[str, Any] = {
        "model": name,
        "alias": alias,
        "version": target,
        "previous_version": previous,
        "kind": plan.kind,
        "dry_run": dry_run,
        "registry": location.display,
        **({"reason": plan.reason} if plan.reason else {}),
        **({"decision_sha256": plan.verdict.sha256} if plan.verdict else {}),
        **({"notes": notes} if notes else {}),
    }
    verb = {"promote": "promoted", "rollback": "rolled back", "forced": "forced"}[plan.kind]
    if previous == target:
        summary = f"{name}@{alias} is already version {target}: nothing to change"
    elif dry_run:
        summary = (
            f"dry run: would move {name}@{alias} from "
            f"{'no version' if previous is None else f'version {previous}'} to version {target}"
            f" ({plan.kind}); nothing changed"
        )
    else:
        summary = f"{verb} {name}@{alias}: version {previous or '(none)'} → {target}"
    checks = [
        *plan.checks,
        *(
            Check(
                rule="registry housekeeping", passed=True, message=n, severity="warning", observed=n
            )
            for n in notes
        ),
        Check(rule=f"alias {alias}", passed=True, observed=target, expected=previous or "none"),
    ]
    result = StepResult(
        step=STEP,
        passed=True,
        summary=summary,
        checks=checks,
        outputs={"model": name, "alias": alias, "version": target, "previous": previous or ""},
        metrics={
            k: float(v)
            for k, v in (("version", target), ("previous_version", previous))
            if v is not None and v.isdigit()
        },
        details={"promote": change},
    )
    if previous == target or dry_run:
        result.markdown = _markdown(summary, change)
        result.record.section = _facts(change)
        return result
    version_tags = _tags(plan, alias, previous, ci)
    change["tags"] = version_tags
    result.markdown = _markdown(summary, change)
    undo = _Undo(mlflow, location, name, alias, current)
    try:
        undo.remember(plan.target, version_tags)
        registry.set_tags(mlflow, location, name, target, version_tags)
        if current is not None:
            line = f"{version_tags[tags.PROMOTE_AT]} replaced by version {target} ({plan.kind})"
            previous_tags = {
                tags.replaced(alias): f"{target} at {version_tags[tags.PROMOTE_AT]}",
                tags.history(alias): history.appended(current, alias, line),
            }
            undo.remember(current, previous_tags)
            registry.set_tags(mlflow, location, name, current.version, previous_tags)
        _set_alias(mlflow, location, name, alias, target)
        undo.alias_moved = True
    except BaseException:
        undo.run()
        raise
    # Production changed: if the run folder cannot record it, it changes back.
    result.record.section = _facts(change)
    result.record.failed.append(undo.run)
    return result


class _Undo:
    """Puts the alias and the tags back when promotion fails after the registry changed."""

    def __init__(
        self, mlflow: Any, location: Location, name: str, alias: str, current: VersionRef | None
    ) -> None:
        self.mlflow, self.location, self.name, self.alias = mlflow, location, name, alias
        self.current = current
        self.alias_moved = False
        self._tags: list[tuple[str, str, str | None]] = []

    def remember(self, version: VersionRef, new: Mapping[str, str]) -> None:
        for key in new:
            self._tags.append((version.version, key, version.tags.get(key)))

    def run(self) -> None:
        # Best effort, each part on its own: the error that brought us here is what matters.
        if self.alias_moved:
            with contextlib.suppress(Exception):
                if self.current is not None:
                    self.mlflow.set_registered_model_alias(
                        self.name, self.alias, self.current.version
                    )
                else:
                    self.mlflow.delete_registered_model_alias(self.name, self.alias)
        for number, key, old in reversed(self._tags):
            with contextlib.suppress(Exception):
                if old is None:
                    self.mlflow.delete_model_version_tag(self.name, number, key)
                else:
                    self.mlflow.set_model_version_tag(self.name, number, key, old)


def _set_alias(mlflow: Any, location: Location, name: str, alias: str, number: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlflow.set_registered_model_alias(name, alias, number)
    except MlflowException as exc:
        raise registry.call_failed(f"moving {name}@{alias}", location, exc) from None


def _tags(plan: _Plan, alias: str, previous: str | None, ci: CIContext) -> dict[str, str]:
    at = utc_now()
    found = {
        tags.PROMOTE_ACTION: plan.kind,
        tags.PROMOTE_ALIAS: alias,
        tags.PROMOTE_AT: at,
        tags.PROMOTE_BY: ci.actor or "unknown",
        tags.PROMOTE_PREVIOUS: previous or "",
        tags.PROMOTE_COMMIT: ci.commit or "",
        tags.PROMOTE_RUN_URL: ci.run_url or "",
        tags.PROMOTE_REASON: plan.reason or "",
        tags.PROMOTE_COMPARE: (plan.verdict.summary[:1000] if plan.verdict else ""),
    }
    line = f"{at} {plan.kind} by {ci.actor or 'unknown'}" + (
        f" (from version {previous})" if previous else ""
    )
    found[tags.history(alias)] = history.appended(plan.target, alias, line)
    return {k: v for k, v in found.items() if v}


def _housekeeping(note: str) -> Check:
    """What the orphan sweep did: shown as a warning so a CI log surfaces it."""
    return Check(rule="registry housekeeping", passed=False, message=note, severity="warning")


def _refused(name: str, alias: str, reason: str) -> StepResult:
    check = Check(rule="promotion allowed", passed=False, message=reason)
    result = StepResult(
        step=STEP,
        passed=False,
        summary=f"{name}@{alias} unchanged: {reason}",
        checks=[check],
        outputs={"model": name, "alias": alias},
        markdown=f"**❌ not promoted** — {name}@{alias} unchanged: {reason}",
    )
    result.record.section = PromoteFacts(passed=False, model=name, alias=alias)
    return result


def _markdown(summary: str, change: Mapping[str, Any]) -> str:
    lines = [
        f"**{'🔍' if change['dry_run'] else '✅'} {summary}**",
        "",
        "| model | alias | from | to | action |",
        "|---|---|---|---|---|",
        f"| {change['model']} | {change['alias']} | {change['previous_version'] or '—'} "
        f"| {change['version']} | {change['kind']}{' (dry run)' if change['dry_run'] else ''} |",
    ]
    recorded: Mapping[str, str] = change.get("tags") or {}
    if recorded:
        shown = {k: v for k, v in recorded.items() if not k.startswith("modelci.history.")}
        lines += [
            "",
            "Recorded on the version: " + ", ".join(f"`{k}={v}`" for k, v in shown.items()),
        ]
    for note in change.get("notes") or []:
        lines += ["", f"⚠️ {note}"]
    return "\n".join(lines)


def _facts(change: Mapping[str, Any]) -> PromoteFacts:
    return PromoteFacts(
        passed=True,
        model=str(change["model"]),
        alias=change["alias"],
        version=change["version"],
        previous_version=change["previous_version"],
        kind=change["kind"],
        dry_run=bool(change["dry_run"]),
        registry=change["registry"],
        reason=change.get("reason"),
        decision_sha256=change.get("decision_sha256"),
        notes=tuple(change.get("notes") or ()),
        tags=dict(change.get("tags") or {}),
    )


def _str(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


SPEC = StepSpec(
    name=STEP,
    help="""Point the production alias at the candidate once compare passed, or roll back.

    Acts only on evidence it re-reads from the registry (see docs/security.md); records who,
    what and when as version tags. Exit 0 when the alias moved (or would, with --dry-run),
    1 when the evidence does not allow it, 2 on bad input.""",
    run=run,
    inputs=(
        Input(
            "version",
            "promote.version",
            "Roll back: put this version behind the alias; it must have served there before "
            "or passed compare (else --force with --reason).",
        ),
        Input("dry-run", "promote.dry_run", "Show the change without making it."),
        Input("force", "promote.force", "With --version: move the alias anyway."),
        Input("reason", "promote.reason", "Why a version is forced (recorded on it)."),
        Input("model-name", "registry.model_name", "Registered model name."),
        Input("alias", "registry.alias", "Alias that marks production."),
        Input(
            "tracking-uri",
            "registry.tracking_uri",
            "MLflow tracking URI of a registry that outlives the job (else MLFLOW_TRACKING_URI).",
        ),
    ),
    outputs=(
        Output("version", "Version now (or, with dry-run, next) behind the alias."),
        Output("previous", "Version that was behind the alias (empty when none)."),
        Output("model", "Registered model name the alias belongs to."),
        Output("alias", "Alias that marks production."),
    ),
    extras=("registry",),
)
