"""validate-data: the dataset meets its contract and has not drifted from the reference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci import reports
from modelci.config import Config, env_name
from modelci.errors import InputError
from modelci.inputs import Input, Output
from modelci.manifest import DatasetFacts, ValidateFacts
from modelci.results import Check, Record, StepResult
from modelci.step import Context, StepSpec

if TYPE_CHECKING:
    from modelci.contract.model import Contract
    from modelci.data.reader import Dataset
    from modelci.drift.profile import Profile

STEP = "validate-data"


def run(ctx: Context) -> StepResult:
    config = ctx.config
    ctx.runfolder.manifest()  # a damaged manifest fails before anything is read
    data_path = config.path("data.path")
    contract_path = config.path("contract")
    reference_path = config.path("data.reference")
    if data_path is None:
        raise InputError(
            "no dataset to validate: pass DATA, or set data.path in modelci.yaml "
            f"or {env_name('data.path')}"
        )
    if contract_path is None and reference_path is None:
        raise InputError(
            "nothing to check the data against: pass --contract FILE (and/or --reference), "
            f"or set contract in modelci.yaml or {env_name('contract')}"
        )

    # The contract and reference are read before the data: a bad contract should fail in
    # milliseconds, not after reading millions of rows.
    contract = _load_contract(contract_path) if contract_path else None
    drift_settings: dict[str, Any] = dict(config.get("validate.drift") or {})
    measure_drift = reference_path is not None and drift_settings.get("enabled", True)
    profile = (
        _reference_profile(config, reference_path, contract)
        if reference_path is not None and measure_drift
        else None
    )

    dataset = _read(config, data_path)
    checks: list[Check] = []
    if contract is not None:
        from modelci.contract.checks import run_checks

        checks += run_checks(contract, dataset.table, file=_display(data_path))

    drift_share: float | None = None
    target_drift: bool | None = None
    if profile is not None:
        from modelci.drift.detect import DriftScope, detect_drift

        scope = DriftScope(
            target=(contract.target if contract is not None else None) or config.get("data.target"),
            skip=contract.drift_skipped() if contract is not None else {},
        )
        drift = detect_drift(profile, dataset.table, drift_settings, scope)
        drift_share = drift.share
        if drift.target is not None:
            target_drift = drift.target_drift
        checks += drift.checks(fail=bool(drift_settings.get("fail", True)))

    result = _result(dataset, checks, drift_share, target_drift, contract_path, reference_path)
    result.record = _record(result, dataset, profile, reference_path)
    return result


def _load_contract(path: Path) -> Contract:
    from modelci.contract.model import load_contract

    return load_contract(path)


def _read(config: Config, path: Path) -> Dataset:
    from modelci.data.configured import read_configured

    progress = {"auto": None, "always": True, "never": False}[
        config.get("validate.progress", "auto")
    ]
    return read_configured(config, path, progress=progress)


def _reference_profile(config: Config, path: Path, contract: Contract | None) -> Profile:
    """A saved profile is used as is; a reference dataset is profiled once (and saved if asked)."""
    from modelci.drift.profile import build_profile, is_profile, load_profile, save_profile

    if is_profile(path):
        return load_profile(path)
    kinds = None
    skip: list[str] = []
    if contract is not None:
        from modelci.contract.model import column_kinds

        kinds = column_kinds(contract)
        skip = list(contract.drift_skipped())
    reference = _read(config, path)
    profile = build_profile(
        reference.table, kinds=kinds, source=str(path), digest=reference.digest, skip=skip
    )
    if save_to := config.path("validate.save_profile"):
        save_profile(profile, save_to)
    return profile


def _display(path: str | Path) -> str:
    """A path as logs and reports show it: relative to the project (where modelci runs, the
    repository's root in CI) when inside it, so annotations and readers find the file."""
    if "*" in str(path) or "://" in str(path):
        return str(path)
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


def _result(
    dataset: Dataset,
    checks: list[Check],
    drift_share: float | None,
    target_drift: bool | None,
    contract_path: Path | None,
    reference_path: Path | None,
) -> StepResult:
    failed = [c for c in checks if c.blocking]
    warnings = [c for c in checks if not c.passed and c.severity == "warning"]
    passed = not failed
    verdict = "passed" if passed else "failed"
    summary = (
        f"validate-data {verdict}: {_display(dataset.source)} ({dataset.rows:,} rows, "
        f"{len(dataset.columns)} columns), {len(checks)} checks, {len(failed)} failed"
        + (f", {len(warnings)} warnings" if warnings else "")
        + (f", drift share {drift_share:.2f}" if drift_share is not None else "")
        + (", target drifted" if target_drift else "")
    )
    if failed:
        worst = ", ".join(c.name for c in failed[:3])
        summary += f" ({worst}{', …' if len(failed) > 3 else ''})"
    lines = [
        f"**{'✅ passed' if passed else '❌ failed'}** — `{_display(dataset.source)}`: "
        f"{dataset.rows:,} rows × {len(dataset.columns)} columns, digest `{dataset.digest}`",
        "",
        f"- contract: `{_display(contract_path)}`" if contract_path else "- contract: none",
        f"- reference: `{_display(reference_path)}`"
        if reference_path
        else "- reference: none (no drift check)",
        f"- checks: {len(checks)}, failed: {len(failed)}, warnings: {len(warnings)}",
        "",
        reports.markdown_table(checks, STEP),
    ]
    outputs = {
        "digest": dataset.digest,
        "rows": str(dataset.rows),
        "checks": str(len(checks)),
        "failed": str(len(failed)),
    }
    metrics = {
        "rows": float(dataset.rows),
        "checks": float(len(checks)),
        "failed_checks": float(len(failed)),
    }
    if drift_share is not None:
        outputs["drift-share"] = f"{drift_share:.4f}"
        metrics["drift_share"] = drift_share
    if target_drift is not None:
        metrics["target_drift"] = float(target_drift)
    return StepResult(
        step=STEP,
        passed=passed,
        summary=summary,
        checks=checks,
        outputs=outputs,
        metrics=metrics,
        markdown="\n".join(lines),
    )


def _record(
    result: StepResult,
    dataset: Dataset,
    profile: Profile | None,
    reference_path: Path | None,
) -> Record:
    datasets = {
        "data": DatasetFacts(
            source=dataset.source,
            digest=dataset.digest,
            files=tuple(str(f) for f in dataset.files),
            format=dataset.format,
            rows=dataset.rows,
            columns=tuple(dataset.columns),
        )
    }
    if profile is not None and reference_path is not None:
        datasets["reference"] = DatasetFacts(source=str(reference_path), digest=profile.digest)
    target_drift = result.metrics.get("target_drift")
    section = ValidateFacts(
        passed=result.passed,
        checks=len(result.checks),
        failed=len([c for c in result.checks if c.blocking]),
        drift_share=result.metrics.get("drift_share"),
        target_drift=None if target_drift is None else bool(target_drift),
    )
    return Record(section=section, datasets=dict(datasets))


SPEC = StepSpec(
    name=STEP,
    help="""Check the data against its contract and for drift against a reference.

    DATA is a CSV or Parquet file, a folder of Parquet parts, or a glob. Exit 0 when every
    check passes, 1 when one fails, 2 on unreadable input.""",
    run=run,
    inputs=(
        Input("data", "data.path", "Dataset to validate.", positional=True),
        Input("contract", "contract", "Data contract (YAML) the data must meet."),
        Input(
            "reference",
            "data.reference",
            "Reference dataset, or a profile saved by `modelci profile` (.mprof), to measure "
            "drift against; without one, drift is not checked.",
        ),
        Input(
            "save-profile",
            "validate.save_profile",
            "Save the reference's profile here, to pass as the reference in later runs.",
        ),
        Input("target", "data.target", "Label column: its drift is reported as target drift."),
        Input(
            "fail-on-drift",
            "validate.drift.fail",
            "Dataset drift fails the step (off: it only warns).",
            off="--warn-on-drift",
        ),
        Input("drift", "validate.drift.enabled", "Measure drift when a reference is given."),
        Input("format", "data.format", "File format."),
        Input("delimiter", "data.csv.delimiter", "CSV field delimiter (one character)."),
        Input("encoding", "data.csv.encoding", "Text encoding of CSV files."),
    ),
    outputs=(
        Output("digest", "SHA-256 digest of the dataset."),
        Output("rows", "Number of rows in the dataset."),
        Output("checks", "Number of checks run."),
        Output("failed", "Number of checks that failed."),
        Output("drift-share", "Share of columns that drifted (empty without a reference)."),
    ),
    extras=("data",),
)
