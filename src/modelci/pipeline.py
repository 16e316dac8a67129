"""The main job: the steps of the build pipeline, in order, in one run folder.

Every step runs with the same tail as when it runs alone (reports, manifest entry, CI
adapter, PR/MR comment). The pipeline stops at the first failed gate: later steps would
build on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from modelci import step
from modelci.errors import InputError
from modelci.results import StepResult
from modelci.step import Context


@dataclass
class PipelineResult:
    results: list[StepResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def selected(wanted: str | None) -> tuple[str, ...]:
    """The pipeline's steps, or those of ``wanted`` (comma-separated) in pipeline order; an
    unknown step, or one that is not part of the pipeline, is an input error."""
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


def run(ctx: Context, steps: Sequence[str], *, stream: TextIO | None = None) -> PipelineResult:
    from modelci.steps import STEPS

    outcome = PipelineResult()
    for name in steps:
        result = step.run(STEPS[name], ctx, stream=stream)
        outcome.results.append(result)
        if not result.passed:
            break
    return outcome
