"""The facts of a run, as the documents about the model state them.

The signed run facts (sign), the bill of materials (sbom) and the provenance (provenance)
all describe the same model, the same data and the same verdict; they read them here, from
the run's typed manifest and the settings, so they cannot tell different stories.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci import __version__
from modelci.errors import InputError
from modelci.manifest import Manifest, TrainFacts

if TYPE_CHECKING:
    from modelci.provenance import SourceRepository
    from modelci.sbom import Dataset
    from modelci.step import Context


def model_folder(ctx: Context, key: str) -> Path:
    """The model folder a step works on: the setting ``key``, else the one train recorded."""
    configured = ctx.config.path(key)
    if configured is not None:
        return configured
    train = ctx.runfolder.manifest().train
    if train is None or train.model_path is None:
        raise InputError(f"no model folder: pass MODEL, set {key}, or run `modelci train` first")
    return ctx.runfolder.resolve(train.model_path)


def trained(manifest: Manifest, step: str) -> TrainFacts:
    """train's facts, which a document about the model needs."""
    if manifest.train is None:
        raise InputError(
            f"{step} describes a registered model: the run folder has no train facts; run "
            "`modelci train` first"
        )
    return manifest.train


def predicate(ctx: Context, manifest: Manifest, model_digest: str) -> dict[str, Any]:
    """The run facts sign signs over the model's files: what promote acts on."""
    from modelci.results import plain

    train, compare, scan = manifest.train, manifest.compare, manifest.scan
    facts: dict[str, Any] = {"modelci": __version__, "model": {"digest": model_digest}}
    if train is not None:
        facts["model"].update(
            name=train.registered_model,
            version=train.model_version,
            uri=train.model_uri,
            run_id=train.run_id,
            registry=train.tracking_uri,
        )
        facts["data"] = {
            "digest": train.data_digest,
            "eval_digest": train.eval_digest,
            "target": train.target,
            "task": train.task,
        }
        facts["metrics"] = dict(train.metrics)
    digests = {role: found.digest for role, found in manifest.datasets.items() if found.digest}
    if digests:
        facts["datasets"] = digests
    if compare is not None:
        production = compare.production
        facts["gate"] = {
            "passed": compare.passed,
            "summary": compare.summary,
            "decision_sha256": compare.decision_sha256,
            "candidate_version": compare.candidate.version,
            "candidate_digest": compare.candidate.digest,
            "champion_version": production.version if production else None,
            "champion_digest": production.digest if production else None,
        }
    if scan is not None:
        facts["scan"] = {"passed": scan.passed, "errors": scan.errors}
    ci = ctx.ci
    facts["source"] = {"commit": ci.commit, "run_url": ci.run_url, "repository": ci.repository}
    result: dict[str, Any] = plain(facts)
    return result


def datasets(ctx: Context, manifest: Manifest) -> tuple[Dataset, ...]:
    """The training and evaluation data as documents list them (with digests)."""
    from modelci.sbom import Dataset, DatasetRole

    found: list[Dataset] = []
    train = manifest.train
    data = manifest.datasets.get("data")
    contract, contract_digest = _contract(ctx)
    digest = (train.data_digest if train else None) or (data.digest if data else None)
    if digest:
        found.append(
            Dataset(
                role=DatasetRole.TRAINING,
                source=data.source if data else str(ctx.config.get("data.path") or "data"),
                digest=digest,
                rows=data.rows if data else None,
                columns=tuple(data.columns) if data else (),
                contract=contract,
                contract_digest=contract_digest,
            )
        )
    if train is not None and train.eval_digest and train.eval_data:
        found.append(
            Dataset(
                role=DatasetRole.EVALUATION,
                source=train.eval_data,
                digest=train.eval_digest,
                name="holdout",
            )
        )
    return tuple(found)


def _contract(ctx: Context) -> tuple[str | None, str | None]:
    from modelci.digests import file_sha256

    path = ctx.config.path("contract")
    if path is None or not path.is_file():
        return None, None
    return str(ctx.config.get("contract")), "sha256:" + file_sha256(path)


def source(ctx: Context) -> SourceRepository | None:
    from modelci.provenance import SourceRepository

    ci = ctx.ci
    if not ci.commit:
        return None
    uri = ci.repository or _git_remote(ctx)
    if not uri:
        return None
    return SourceRepository(uri=uri, commit=ci.commit, ref=ci.branch)


def _git_remote(ctx: Context) -> str | None:
    from modelci.cicontext import git

    found = git(ctx.config.base_dir, "remote", "get-url", "origin")
    if not found:
        return None
    from modelci.secrets import uri_display

    return uri_display(found)


def now(ctx: Context) -> dt.datetime:
    """When a document is made: SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    epoch = ctx.env.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
