"""The Python API: one call per step, for a notebook, a Spark job or a script.

Each call takes the step's inputs as keyword arguments (the command's flags with ``-`` as
``_``: ``modelci.train(cv_folds=5)`` is ``modelci train --cv-folds 5``), runs the step with
the same tail as the command line (reports, manifest entry, CI outputs when run in CI) and
returns its :class:`~modelci.results.StepResult`. A failed gate is a result with
``passed=False``, not an exception; bad input raises :class:`~modelci.errors.InputError`
(``exit_code`` 2) and an unreachable service :class:`~modelci.errors.InfraError` (3).

    import modelci
    result = modelci.train("data/train.csv", project="churn", cv_folds=5)
    if not result.passed: ...
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelci.results import StepResult

__all__ = ["compare", "pipeline", "promote", "run_step", "train", "validate_data"]


def run_step(
    step: str,
    *,
    project: str | Path | None = None,
    config: str | Path | None = None,
    workdir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    quiet: bool = True,
    **inputs: Any,
) -> StepResult:
    """Run ``step`` with the given inputs (see each step's call for their names).

    ``project`` is a folder holding modelci.yaml (its relative paths are taken from there);
    ``config`` names the file directly. ``env`` replaces the process environment (where the
    tracking server and credentials come from). With ``quiet``, the log table modelci prints
    on the command line is not printed.
    """
    from modelci import step as step_mod
    from modelci.config import load
    from modelci.errors import InputError
    from modelci.inputs import overrides
    from modelci.steps import STEPS

    spec = STEPS.get(step)
    if spec is None:
        raise InputError(f"no step {step!r}; steps are {', '.join(STEPS)}")
    known = {item.argument: item for item in spec.inputs if item.key is not None}
    unknown = sorted(set(inputs) - set(known))
    if unknown:
        raise TypeError(
            f"modelci.{step.replace('-', '_')}() got unknown input(s) {', '.join(unknown)}; "
            f"it takes {', '.join(sorted(known))}"
        )
    values = {name: str(v) if isinstance(v, Path) else v for name, v in inputs.items()}
    flags = overrides(spec.inputs, values)
    if workdir is not None:
        flags["workdir@workdir"] = str(workdir)
    environment = os.environ if env is None else env
    file = _project_file(project, config)
    settings = load(file, env=environment, overrides=flags, search=file is None)
    ctx = step_mod.Context.of(settings, environment)
    return step_mod.run(spec, ctx, stream=io.StringIO() if quiet else None)


def _project_file(project: str | Path | None, config: str | Path | None) -> Path | None:
    if config is not None:
        return Path(config)
    if project is None:
        return None
    candidate = Path(project) / "modelci.yaml"
    if not candidate.is_file():
        from modelci.errors import ConfigError

        raise ConfigError(f"{candidate}: no such file; project must hold a modelci.yaml")
    return candidate


def validate_data(data: str | Path | None = None, **kwargs: Any) -> StepResult:
    """The data meets its contract and has not drifted: ``modelci validate-data``."""
    return run_step("validate-data", data=data, **kwargs)


def train(data: str | Path | None = None, **kwargs: Any) -> StepResult:
    """Fit, track and register a model version: ``modelci train``."""
    return run_step("train", data=data, **kwargs)


def compare(**kwargs: Any) -> StepResult:
    """The candidate against production on the same rows: ``modelci compare``."""
    return run_step("compare", **kwargs)


def promote(**kwargs: Any) -> StepResult:
    """Move the production alias on evidence re-read from the registry: ``modelci promote``."""
    return run_step("promote", **kwargs)


def pipeline(
    project: str | Path | None = None,
    *,
    steps: str | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | Path | None = None,
    quiet: bool = True,
) -> list[StepResult]:
    """The pipeline's steps in order, stopping at the first failed gate: ``modelci
    pipeline``. Returns each step's result."""
    from modelci.config import load
    from modelci.step import Context, pipeline_steps, run_pipeline

    environment = os.environ if env is None else env
    file = _project_file(project, None)
    flags = {"workdir@workdir": str(workdir)} if workdir is not None else {}
    settings = load(file, env=environment, overrides=flags, search=file is None)
    ctx = Context.of(settings, environment)
    stream = io.StringIO() if quiet else None
    chosen = pipeline_steps(steps)
    return run_pipeline(ctx, chosen, explicit=steps is not None, stream=stream).results
