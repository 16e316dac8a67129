"""scan: a model file is code that runs when it loads; find what it would run, loading nothing.

Every file is judged by its content against an exact allowlist of (module, name) globals
(:mod:`modelci.scanning`); ``scan.allow`` extends it. Exit 1 on any unsafe finding, 0 when
clean, 2 on unreadable input. Besides the JSON report, Markdown summary and JUnit, the step
writes SARIF 2.1.0 (``scan/results.sarif``) for GitHub code scanning.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from modelci import __version__
from modelci.config import Config
from modelci.errors import GateFailed, InputError
from modelci.inputs import Input, Output
from modelci.manifest import ScanFacts
from modelci.results import Check, StepResult, counted
from modelci.step import Context, StepSpec

if TYPE_CHECKING:
    from modelci.scanning import Finding, ScanReport

STEP = "scan"
#: findings listed in the summary; the rest are in the reports
SHOWN = 20


def run(ctx: Context) -> StepResult:
    config = ctx.config
    manifest = ctx.runfolder.manifest()
    target = config.path("scan.path")
    if target is None:
        if manifest.train is None or manifest.train.model_path is None:
            raise InputError(
                "nothing to scan: pass a model file or folder (PATH), set scan.path, or run "
                "`modelci train` first"
            )
        target = ctx.runfolder.resolve(manifest.train.model_path)
    ctx.step_dir(STEP)  # a run folder that cannot take the record fails before the work
    report = scan_with_settings(config, target)
    return _result(ctx, target, report)


def scan_with_settings(config: Config, target: Path) -> ScanReport:
    """Scan ``target`` with the project's allowlist (compare scans both models this way)."""
    from modelci.scanning import Global, scan

    where = config.where("scan.allow")
    allow = [Global.parse(text, where=where) for text in config.get("scan.allow") or []]
    return scan(target, allow=allow, loaders=config.get("scan.loaders") or [])


def refuse_unsafe(config: Config, role: str, folder: Path) -> None:
    """Scan a model folder before it is loaded; an unsafe one is never loaded (exit 1)."""
    report = scan_with_settings(config, folder)
    if not report.passed:
        first = report.errors[0]
        raise GateFailed(
            f"the {role} model is unsafe to load ({len(report.errors)} finding(s); first: "
            f"{first.file}: {first.message}); not loaded — run `modelci scan {folder}` for all"
        )


def _check(finding: Finding, root: str) -> Check:
    """A finding as a check; its file is named from the job's folder (``root`` is the scanned
    folder's path from there), as CI annotations and code scanning place files."""
    where = f"{finding.container or finding.file}"
    at = []
    if finding.opcode:
        at.append(finding.opcode)
    if finding.offset is not None:
        at.append(f"at byte {finding.offset}")
    return Check(
        rule=finding.rule,
        passed=False,
        column=where,
        observed=str(finding.global_) if finding.global_ else " ".join(at) or None,
        expected="allowlisted" if finding.global_ else None,
        message=f"{finding.file}: {finding.message}" + (f" ({' '.join(at)})" if at else ""),
        severity=finding.severity,
        file=posixpath.normpath(posixpath.join(root, finding.file)),
    )


def _result(ctx: Context, target: Path, report: ScanReport) -> StepResult:
    from modelci.digests import model_digest
    from modelci.scanning import sarif

    # GitHub code scanning finds files by their path in the repository (the job's folder)
    root = Path(target if target.is_dir() else target.parent).resolve()
    shown_root = _display(root)
    checks = [_check(f, Path(shown_root).as_posix()) for f in report.findings]
    checks.insert(
        0,
        Check(
            rule="every file judged",
            passed=True,
            observed=counted(len(report.files), "file"),
            expected="no unsafe global",
        ),
    )
    errors, warnings = len(report.errors), len(report.warnings)
    shown = _display(target)
    if report.passed:
        summary = (
            f"scan passed: {shown}: {counted(len(report.files), 'file')}, no unsafe content"
            + (f", {counted(warnings, 'warning')}" if warnings else "")
        )
    else:
        first = report.errors[0]
        summary = (
            f"scan failed: {shown}: {counted(errors, 'unsafe finding')} in "
            f"{counted(len(report.files), 'file')} "
            f"(first: {first.file}: {first.message})"
        )
    lines = [
        f"**{'✅ no unsafe content' if report.passed else '❌ unsafe content'}** — `{shown}`: "
        f"{counted(len(report.files), 'file')}, {counted(errors, 'error')}, "
        f"{counted(warnings, 'warning')}",
        "",
    ]
    if report.findings:
        lines += ["| severity | file | rule | what |", "|---|---|---|---|"]
        for finding in report.findings[:SHOWN]:
            message = finding.message.replace("|", "\\|")
            lines.append(f"| {finding.severity} | `{finding.file}` | {finding.rule} | {message} |")
        if len(report.findings) > SHOWN:
            lines.append(f"| | … {len(report.findings) - SHOWN} more in the reports | | |")
    digest = model_digest(target) if target.is_dir() else None
    step_dir = ctx.step_dir(STEP)
    base = root.as_uri() + "/" if Path(shown_root).is_absolute() else shown_root.rstrip("/") + "/"
    result = StepResult(
        step=STEP,
        passed=report.passed,
        summary=summary,
        checks=checks,
        outputs={"errors": str(errors), "warnings": str(warnings), "files": str(len(report.files))},
        metrics={
            "files": float(len(report.files)),
            "errors": float(errors),
            "warnings": float(warnings),
        },
        markdown="\n".join(lines),
        details={"scan": report.as_dict()},
        sarif=sarif(report, tool_version=__version__, base_uri=base),
    )
    result.record.section = ScanFacts(
        passed=report.passed,
        path=ctx.runfolder.relative(target),
        files=len(report.files),
        errors=errors,
        warnings=warnings,
        model_digest=digest,
        sarif=ctx.runfolder.relative(step_dir / "results.sarif"),
    )
    return result


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


SPEC = StepSpec(
    name=STEP,
    help="""Scan the model's files for unsafe content, without loading them.

    PATH is a model file or folder (default: the model folder train recorded). Every file is
    judged by its content against an exact allowlist of the globals a loader would import.
    Exit 0 when clean, 1 on an unsafe finding, 2 on unreadable input.""",
    run=run,
    inputs=(
        Input("path", "scan.path", "Model file or folder to scan.", positional=True),
        Input("allow", "scan.allow", "A global to trust besides the allowlist (module:name)."),
        Input("loaders", "scan.loaders", "An MLflow loader module to trust (module)."),
    ),
    outputs=(
        Output("errors", "Unsafe findings (the gate fails on any)."),
        Output("warnings", "Findings that only deserve a look."),
        Output("files", "Files scanned."),
        Output("sarif", "Path of the SARIF 2.1.0 report, for GitHub code scanning."),
    ),
    extras=("scan",),
)
