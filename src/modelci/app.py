"""What every command shares: global options, configuration, run folder, result hand-off.

Commands stay thin: parse flags, build the :class:`Config`, call a step's ``run`` and pass the
:class:`StepResult` to :meth:`App.finish`, which publishes it through the detected CI adapter
and turns a failed gate into exit code 1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelci import config as config_mod
from modelci.errors import GateFailed
from modelci.results import StepResult
from modelci.runfolder import RunFolder


@dataclass
class App:
    debug: bool = False
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
        return config_mod.load(self.config_file, env=self.env, overrides=flags)

    def runfolder(self, config: config_mod.Config) -> RunFolder:
        path = config.path("workdir")
        return RunFolder(path if path is not None else ".modelci")

    def finish(self, result: StepResult) -> StepResult:
        """Publish the result where the pipeline shows it; a failed gate exits 1."""
        from modelci.ci import detect

        detect(self.env).publish(result)
        if not result.passed:
            raise GateFailed(result.summary)
        return result
