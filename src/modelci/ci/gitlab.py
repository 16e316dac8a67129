"""GitLab CI: dotenv and metrics reports beside the JUnit XML every step writes.

The template declares these paths under ``artifacts:reports``; files live in the step's
folder of the run folder so one artifact upload carries them all.
"""

from __future__ import annotations

import re

from modelci.ci.base import Adapter
from modelci.results import StepResult

_KEY = re.compile(r"[^A-Z0-9_]")
OUTPUTS_ENV = "outputs.env"
METRICS_TXT = "metrics.txt"


class GitLabAdapter(Adapter):
    name = "gitlab"

    def publish(self, result: StepResult) -> None:
        self.log(result)

    def files(self, result: StepResult) -> dict[str, str | bytes]:
        """The dotenv and metrics reports the template declares under artifacts:reports."""
        prefix = "MODELCI_" + _KEY.sub("_", result.step.upper()) + "_"
        outputs = {"passed": "true" if result.passed else "false", **result.outputs}
        lines = [
            f"{prefix}{_KEY.sub('_', k.upper())}={_dotenv_value(v)}" for k, v in outputs.items()
        ]
        metric_lines = [
            f"modelci_{_metric_name(result.step)}_{_metric_name(k)} {float(v):.10g}"
            for k, v in result.metrics.items()
        ]
        return {
            OUTPUTS_ENV: "\n".join(lines) + "\n",
            METRICS_TXT: "\n".join(metric_lines) + "\n",
        }

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=self.stream)


def _dotenv_value(value: str) -> str:
    # GitLab's dotenv report takes one line per variable: newlines would cut the value.
    return " ".join(str(value).splitlines())


def _metric_name(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", text).lower()
