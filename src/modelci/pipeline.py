"""The main job: every step of the pipeline that exists, in order, in one run folder.

A step is a module ``modelci.steps.<name>`` with ``run(config, runfolder) -> StepResult``.
Steps whose module is not part of this version are reported as not available yet, so the
same command grows with the product instead of being rewritten.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

from modelci.config import Config
from modelci.results import StepResult
from modelci.runfolder import RunFolder

#: the build pipeline of DESIGN.md, in order; verify/promote run before a deploy instead
STEPS: tuple[str, ...] = (
    "validate-data",
    "train",
    "compare",
    "scan",
    "sign",
    "sbom",
    "provenance",
    "publish",
)


def module_name(step: str) -> str:
    return "modelci.steps." + step.replace("-", "_")


def available(step: str) -> bool:
    return importlib.util.find_spec(module_name(step)) is not None


@dataclass
class PipelineResult:
    results: list[StepResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def run(
    config: Config,
    runfolder: RunFolder,
    *,
    steps: tuple[str, ...] = STEPS,
    publish: Callable[[StepResult], None] | None = None,
) -> PipelineResult:
    """Run ``steps`` in order; stop at the first failed gate (later steps would build on it)."""
    outcome = PipelineResult()
    for step in steps:
        if not available(step):
            outcome.skipped.append(step)
            continue
        module = importlib.import_module(module_name(step))
        result: StepResult = module.run(config, runfolder)
        outcome.results.append(result)
        if publish is not None:
            publish(result)
        if not result.passed:
            break
    return outcome
