"""What every command shares: global options, configuration, run folder, result hand-off.

Commands stay thin: parse flags and call :meth:`App.run_step`, which builds the
:class:`Config`, runs the step and its shared tail (:func:`modelci.step.run`: reports,
manifest entry, CI adapter, PR/MR comment) and turns a failed gate into exit code 1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelci import config as config_mod
from modelci.errors import GateFailed
from modelci.results import StepResult
from modelci.runfolder import RunFolder

if TYPE_CHECKING:
    from modelci.step import StepSpec


@dataclass
class App:
    debug: bool = False
    #: print every check (``-v``), not only the failing and warning ones
    verbose: bool = False
    config_file: Path | None = None
    workdir: Path | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def load_config(self, overrides: Mapping[str, Any] | None = None) -> config_mod.Config:
        """Layer defaults, modelci.yaml, MODELCI_* and the given flag values.

        Flag keys are dotted config keys, optionally ``key@--flag`` so errors name the flag.
        """
        flags = dict(overrides or {})
        if self.workdir is not None:
            flags["workdir@--workdir"] = str(self.workdir)
        config = config_mod.load(self.config_file, env=self.env, overrides=flags)
        for warning in config.warnings:
            print(f"modelci: warning: {warning}", file=sys.stderr)
        return config

    def runfolder(self, config: config_mod.Config) -> RunFolder:
        path = config.path("workdir")
        return RunFolder(path if path is not None else ".modelci")

    def run_step(self, spec: StepSpec, flags: Mapping[str, Any]) -> StepResult:
        """Run one step and its tail with the given flag values; a failed gate exits 1."""
        from modelci import step

        ctx = step.Context.of(self.load_config(flags), self.env)
        result = step.run(spec, ctx, verbose=self.verbose)
        if not result.passed:
            raise GateFailed(result.summary)  # the one place its verdict line is printed
        return result
