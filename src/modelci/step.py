"""The step contract, and the one tail every step shares.

A step is ``run(ctx) -> StepResult``: the :class:`Context` carries the configuration, the run
folder, the environment and the CI context (a step never reads ``os.environ``). What every
step does after its work happens in :func:`finish`, whether the step runs alone (``modelci
train``), in ``modelci pipeline`` or from the Python API: the JSON report, Markdown summary,
JUnit (and SARIF when the step has findings) are written with the step's own files and its
manifest entry, together or not at all; then the result is published through the CI adapter,
and the PR/MR comment is posted or updated. A comment that cannot be posted is a warning,
never a failed gate.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from modelci import cicontext, reports
from modelci.cicontext import CIContext
from modelci.config import Config
from modelci.errors import InfraError, MissingExtra
from modelci.inputs import Input, Output
from modelci.results import StepResult
from modelci.runfolder import DEFAULT_WORKDIR, RunFolder, Staged

if TYPE_CHECKING:
    from modelci.ci.base import Adapter


@dataclass(frozen=True)
class Context:
    """Everything a step may know about the world it runs in."""

    config: Config
    runfolder: RunFolder
    env: Mapping[str, str]
    ci: CIContext

    @classmethod
    def of(cls, config: Config, env: Mapping[str, str]) -> Context:
        workdir = config.path("workdir")
        return cls(
            config,
            RunFolder(workdir if workdir is not None else DEFAULT_WORKDIR),
            env,
            cicontext.detect(env, config.base_dir),
        )

    def step_dir(self, step: str) -> Path:
        """Where a step's files go (checked writable: see :meth:`RunFolder.step_dir`)."""
        return self.runfolder.step_dir(step)


StepRun = Callable[[Context], StepResult]


@dataclass(frozen=True)
class StepSpec:
    """A step as every surface sees it: the command, the actions, the templates, the docs,
    the pipeline and the Python API are all made from this."""

    name: str
    #: first line: what the step gates; the rest: exit codes and notes for ``--help``
    help: str
    run: StepRun
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    #: the setting that turns the PR/MR comment on (``auto``) or off (``never``)
    comment: str | None = None
    #: the package extras the step needs (``pip install 'modelci[<extra>]'``)
    extras: tuple[str, ...] = ()
    #: why the pipeline skips the step here (sign with no signing method); ``None``: it runs
    skip: Callable[[Context], str | None] | None = None

    @property
    def summary(self) -> str:
        return self.help.strip().splitlines()[0]


def run(
    spec: StepSpec, ctx: Context, *, stream: TextIO | None = None, verbose: bool = False
) -> StepResult:
    """Run a step and its tail."""
    try:
        result = spec.run(ctx)
    except ModuleNotFoundError as exc:
        # A lean install (a verify job installs only the sign extra) reached a step whose
        # libraries it left out: say which extra, not a traceback. A module of modelci's own
        # that is missing is a broken install, not a missing extra.
        if not exc.name or exc.name.split(".")[0] == "modelci":
            raise
        raise MissingExtra(f"modelci {spec.name}", spec.extras, exc.name) from None
    return finish(spec, ctx, result, stream=stream, verbose=verbose)


def finish(
    spec: StepSpec,
    ctx: Context,
    result: StepResult,
    *,
    stream: TextIO | None = None,
    verbose: bool = False,
) -> StepResult:
    """Write, record, publish and comment: what every step does after its work.

    The log shows the verdict and the checks that failed or warned; ``verbose`` adds every
    passing check (the reports always hold them all)."""
    from modelci.ci import adapter

    step_dir = ctx.step_dir(spec.name)
    publisher = adapter(ctx.ci.provider, ctx.env, stream, verbose=verbose)
    for output in spec.outputs:
        # every declared output is written (empty when the step has no value for it)
        result.outputs.setdefault(output.name, "")
    record = result.record
    try:
        files = reports.step_reports(result, step_dir)
        files.update(publisher.files(result))
        ctx.runfolder.record(
            spec.name,
            passed=result.passed,
            section=record.section,
            datasets=record.datasets,
            staged=Staged({**record.files, **files}, dict(record.moves)),
            report=ctx.runfolder.relative(step_dir / reports.REPORT),
        )
    except BaseException:
        # The step changed something outside the run folder (promote moved an alias, train
        # registered a version): without its record, that change is put back.
        for undo in reversed(record.failed):
            with contextlib.suppress(Exception):
                undo()
        raise
    finally:
        for clean in reversed(record.cleanup):
            with contextlib.suppress(Exception):
                clean()
    for hook in record.recorded:
        hook()
    publisher.publish(result)
    if spec.comment and ctx.config.get(spec.comment, "auto") == "auto":
        _comment(spec, ctx, result, publisher)
    return result


def _comment(spec: StepSpec, ctx: Context, result: StepResult, publisher: Adapter) -> None:
    from modelci.comparing.comment import publish

    try:
        note = publish(result.markdown, ctx.env, step=spec.name)
        # Outside CI there is never a comment: saying so on every local run is noise.
        if ctx.ci.provider != "local" or publisher.verbose:
            publisher.note(f"modelci {spec.name}: {note}")
    except InfraError as exc:
        # The verdict is in the job summary and the reports; an unreachable or refusing
        # API must not turn a passed gate into a failed job.
        publisher.warn(f"modelci {spec.name}: the PR/MR comment was not posted: {exc.message}")


def environment() -> Mapping[str, str]:
    """The process environment, read once where a step is started (never inside a step)."""
    return os.environ


@dataclass
class PipelineResult:
    """The results of the pipeline's steps, in order, up to the first failed gate, and the
    steps skipped with the reason."""

    results: list[StepResult]
    skipped: dict[str, str]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def pipeline_steps(wanted: str | None) -> tuple[str, ...]:
    """The pipeline's steps, or those of ``wanted`` (comma-separated) in pipeline order; an
    unknown step, or one that is not part of the pipeline, is an input error."""
    from modelci.errors import InputError
    from modelci.steps import PIPELINE, STEPS

    if not wanted:
        return PIPELINE
    names = [s.strip() for s in wanted.split(",") if s.strip()]
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise InputError(
            f"--steps: unknown step {', '.join(map(repr, unknown))}; the pipeline's steps are "
            f"{', '.join(PIPELINE)}"
        )
    outside = [n for n in names if n not in PIPELINE]
    if outside:
        raise InputError(
            f"--steps: {', '.join(map(repr, outside))} is not a pipeline step (run it on its "
            f"own: modelci {outside[0]}); the pipeline's steps are {', '.join(PIPELINE)}"
        )
    return tuple(n for n in PIPELINE if n in names)


def run_pipeline(
    ctx: Context,
    steps: tuple[str, ...],
    *,
    explicit: bool = False,
    stream: TextIO | None = None,
    verbose: bool = False,
) -> PipelineResult:
    """The main job: each step with the same tail as when it runs alone, stopping at the
    first failed gate (later steps would build on it). A step that cannot run here is
    skipped and said so, unless it was asked for by name (``explicit``): then it is an
    input error, not a green pipeline that did nothing."""
    from modelci.errors import InputError
    from modelci.steps import STEPS

    if explicit:
        for name in steps:
            spec = STEPS[name]
            reason = spec.skip(ctx) if spec.skip is not None else None
            if reason is not None:
                raise InputError(f"--steps: {name} cannot run here: {reason}")

    outcome = PipelineResult([], {})
    for name in steps:
        spec = STEPS[name]
        reason = spec.skip(ctx) if spec.skip is not None else None
        if reason is not None:
            outcome.skipped[name] = reason
            continue
        result = run(spec, ctx, stream=stream, verbose=verbose)
        outcome.results.append(result)
        if not result.passed:
            break
    return outcome
