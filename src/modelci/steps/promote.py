"""promote: move the production alias to the candidate, only after compare said yes.

``--version N`` is the rollback: it puts version N back behind the alias with no compare
decision needed. Either way the new version gets tags saying who moved it, from which
commit and CI run, when, and which version it replaced; ``--dry-run`` only says what would
change.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
from collections.abc import Mapping
from typing import Any

from modelci import reports
from modelci.comparing import registry
from modelci.config import Config
from modelci.errors import InputError
from modelci.results import Check, StepResult
from modelci.runfolder import RunFolder

STEP = "promote"
#: manifest keys a signing step may record its signature under
SIGNATURE_KEYS = ("sign", "signature")
#: module that verifies a recorded signature once signing exists; see _verify_signature
VERIFIER_MODULE = "modelci.signing.verify"


def run(
    config: Config,
    runfolder: RunFolder,
    *,
    version: str | None = None,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
) -> StepResult:
    env = os.environ if env is None else env
    manifest = runfolder.read()
    name = registry.model_name(config, manifest)
    if name is None:
        raise InputError(
            f"{config.where('registry.model_name')}: no registered model to promote in; "
            "set registry.model_name or run `modelci train` first"
        )
    alias = str(config.get("registry.alias") or "champion")
    kind = "rollback" if version is not None else "promote"
    checks: list[Check] = []

    if version is None:
        gate = _compare_gate(manifest)
        checks.append(gate)
        signature = _verify_signature(runfolder, manifest)
        if signature is not None:
            checks.append(signature)
        if not all(c.passed for c in checks):
            failed = next(c for c in checks if not c.passed)
            return _finish(
                runfolder,
                _failed(name, alias, failed.message),
                {"passed": False, "model": name, "alias": alias, "kind": kind},
            )
        version = _judged_version(manifest, runfolder)

    # Only now touch the registry: a refused promote must not create an empty store.
    uri = registry.tracking_uri(config, manifest, runfolder, env)
    with registry.reachable(uri, config, runfolder, env):
        return _move(
            config, runfolder, manifest, env, uri, name, alias, kind, version, dry_run, checks
        )


def _move(
    config: Config,
    runfolder: RunFolder,
    manifest: dict[str, Any],
    env: Mapping[str, str],
    uri: str,
    name: str,
    alias: str,
    kind: str,
    version: str,
    dry_run: bool,
    checks: list[Check],
) -> StepResult:
    if registry.store_missing(uri):
        # Opening a client would create an empty store in the run folder.
        raise InputError(
            f"no model registry at {uri}; run `modelci train` first, or set "
            f"registry.tracking_uri (or MLFLOW_TRACKING_URI) to the registry that holds {name!r}"
        )
    client = registry.client(uri)
    target = _version(client, uri, name, str(version))
    current = registry.alias_version(client, uri, name, alias)
    previous = current.version if current else None
    change: dict[str, Any] = {
        "model": name,
        "alias": alias,
        "version": target,
        "previous_version": previous,
        "kind": kind,
        "dry_run": dry_run,
        "tracking_uri": uri,
    }
    if previous == target:
        summary = f"{name}@{alias} is already version {target}: nothing to change"
    elif dry_run:
        summary = (
            f"dry run: would move {name}@{alias} from "
            f"{'no version' if previous is None else f'version {previous}'} to version {target}"
            f" ({kind}); nothing changed"
        )
    else:
        tags = _tags(kind, alias, previous, manifest, env)
        _apply(client, uri, name, alias, target, previous, tags)
        change["tags"] = tags
        summary = (
            f"{'rolled back' if kind == 'rollback' else 'promoted'} {name}@{alias}: "
            f"version {previous or '(none)'} → {target}"
        )
    checks.append(
        Check(rule=f"alias {alias}", passed=True, observed=target, expected=previous or "none")
    )
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
        markdown=_markdown(summary, change),
        details={"promote": change},
    )
    return _finish(runfolder, result, {"passed": True, **change})


def _compare_gate(manifest: Mapping[str, Any]) -> Check:
    decision = manifest.get("compare")
    if not isinstance(decision, Mapping) or "passed" not in decision:
        return Check(
            rule="compare decision passed",
            passed=False,
            observed="none",
            expected="passed",
            message="no compare decision in the manifest: run `modelci compare` before promote "
            "(or roll back with --version N)",
        )
    passed = bool(decision["passed"])
    return Check(
        rule="compare decision passed",
        passed=passed,
        observed="passed" if passed else "failed",
        expected="passed",
        message=(
            f"compare passed: {decision.get('summary', '')}"
            if passed
            else f"not promoting: {decision.get('summary') or 'the compare gate failed'}"
        ),
    )


def _verify_signature(runfolder: RunFolder, manifest: Mapping[str, Any]) -> Check | None:
    """The seam for signing: when the manifest records a signature, it must verify.

    The verifier is looked up at run time (``modelci.signing.verify.verify_manifest``,
    called with the run folder and manifest, raising on a bad signature). When a signature
    is recorded but this installation has no verifier, promotion is refused rather than
    silently skipping the check.
    """
    recorded = next((manifest[k] for k in SIGNATURE_KEYS if manifest.get(k)), None)
    if recorded is None:
        return None
    try:
        verifier: Any = importlib.import_module(VERIFIER_MODULE).verify_manifest
    except (ImportError, AttributeError):
        return Check(
            rule="signature verifies",
            passed=False,
            observed="not verifiable",
            expected="verified",
            message="the manifest records a signature but this modelci cannot verify it; "
            "not promoting an unverified model",
        )
    verifier(runfolder, manifest)
    return Check(rule="signature verifies", passed=True, observed="verified", expected="verified")


def _judged_version(manifest: Mapping[str, Any], runfolder: RunFolder) -> str:
    """The registered version compare judged (or train registered, when compare used its folder)."""
    judged = (manifest.get("compare") or {}).get("candidate") or {}
    if not isinstance(judged, Mapping):
        raise InputError(
            f"{runfolder.manifest_path}: compare.candidate must be a JSON object; the manifest "
            "is damaged: rerun `modelci compare`"
        )
    found = judged.get("version") or (manifest.get("train") or {}).get("model_version")
    if not found:
        raise InputError(
            f"{runfolder.manifest_path}: the compared candidate is not a registered model "
            "version; register it (train with registry.model_name) or pass --version N"
        )
    return str(found)


def _version(client: Any, uri: str, name: str, version: str) -> str:
    from mlflow.exceptions import MlflowException

    try:
        found = client.get_model_version(name, version)
    except MlflowException as exc:
        if registry.is_missing(exc):
            raise InputError(
                f"registered model {name!r} has no version {version} in {uri}; "
                "pick an existing version"
            ) from None
        raise registry.registry_call_failed(f"reading {name} version {version}", uri, exc) from None
    return str(found.version)


def _apply(
    client: Any,
    uri: str,
    name: str,
    alias: str,
    version: str,
    previous: str | None,
    tags: Mapping[str, str],
) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.set_registered_model_alias(name, alias, version)
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, value)
        if previous is not None:
            client.set_model_version_tag(
                name,
                previous,
                f"modelci.replaced_behind_{alias}",
                f"{version} at {tags['modelci.at']}",
            )
    except MlflowException as exc:
        raise registry.registry_call_failed(f"moving {name}@{alias}", uri, exc) from None


def _tags(
    kind: str,
    alias: str,
    previous: str | None,
    manifest: Mapping[str, Any],
    env: Mapping[str, str],
) -> dict[str, str]:
    tags = {
        "modelci.action": kind,
        "modelci.alias": alias,
        "modelci.at": dt.datetime.now(dt.UTC)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z"),
        "modelci.by": registry.actor(env),
        "modelci.previous_version": previous or "",
        "modelci.commit": commit(env),
        "modelci.ci_run_url": ci_run_url(env),
    }
    if kind == "promote":
        summary = str((manifest.get("compare") or {}).get("summary", ""))
        tags["modelci.compare"] = summary[:4000]
    return {k: v for k, v in tags.items() if v}


def commit(env: Mapping[str, str]) -> str:
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        if env.get(name):
            return env[name]
    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return found.stdout.strip() if found.returncode == 0 else ""


def ci_run_url(env: Mapping[str, str]) -> str:
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL") or ""


def _failed(name: str, alias: str, reason: str) -> StepResult:
    check = Check(rule="promotion allowed", passed=False, message=reason)
    return StepResult(
        step=STEP,
        passed=False,
        summary=f"{name}@{alias} unchanged: {reason}",
        checks=[check],
        outputs={"model": name, "alias": alias},
        markdown=f"**❌ not promoted** — {name}@{alias} unchanged: {reason}",
    )


def _markdown(summary: str, change: Mapping[str, Any]) -> str:
    lines = [
        f"**{'🔍' if change['dry_run'] else '✅'} {summary}**",
        "",
        "| model | alias | from | to | action |",
        "|---|---|---|---|---|",
        f"| {change['model']} | {change['alias']} | {change['previous_version'] or '—'} "
        f"| {change['version']} | {change['kind']}{' (dry run)' if change['dry_run'] else ''} |",
    ]
    tags: Mapping[str, str] = change.get("tags") or {}
    if tags:
        lines += [
            "",
            "Recorded on the version: " + ", ".join(f"`{k}={v}`" for k, v in tags.items()),
        ]
    return "\n".join(lines)


def _finish(runfolder: RunFolder, result: StepResult, facts: dict[str, Any]) -> StepResult:
    reports.write_step_reports(result, runfolder.step_dir(STEP))
    runfolder.record_step(
        STEP,
        passed=result.passed,
        facts={"report": runfolder.relative(result.files["report"]), "promote": facts},
    )
    return result
