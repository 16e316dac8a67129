"""GitLab CI: dotenv and metrics reports beside the JUnit XML every step writes.

The template declares these paths under ``artifacts:reports``; files live in the step's
folder of the run folder so one artifact upload carries them all.
"""

from __future__ import annotations

import re
from pathlib import Path

from modelci import fsutil
from modelci.ci.base import Adapter
from modelci.results import StepResult

_KEY = re.compile(r"[^A-Z0-9_]")


class GitLabAdapter(Adapter):
    name = "gitlab"

    def publish(self, result: StepResult) -> None:
        self.log(result)
        folder = _step_folder(result)
        if folder is None:
            return
        prefix = "MODELCI_" + _KEY.sub("_", result.step.upper()) + "_"
        outputs = {"passed": "true" if result.passed else "false", **result.outputs}
        lines = [
            f"{prefix}{_KEY.sub('_', k.upper())}={_dotenv_value(v)}" for k, v in outputs.items()
        ]
        fsutil.write_text(folder / "outputs.env", "\n".join(lines) + "\n")
        metric_lines = [
            f"modelci_{_metric_name(result.step)}_{_metric_name(k)} {float(v):.10g}"
            for k, v in result.metrics.items()
        ]
        fsutil.write_text(folder / "metrics.txt", "\n".join(metric_lines) + "\n")


def _step_folder(result: StepResult) -> Path | None:
    report = result.files.get("report")
    return Path(report).parent if report else None


def _dotenv_value(value: str) -> str:
    # GitLab's dotenv report takes one line per variable: newlines would cut the value.
    return " ".join(str(value).splitlines())


def _metric_name(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", text).lower()
