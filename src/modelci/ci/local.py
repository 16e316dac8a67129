"""Local runs: a readable table, and where the reports went."""

from __future__ import annotations

from modelci.ci.base import Adapter
from modelci.results import StepResult


class LocalAdapter(Adapter):
    name = "local"

    def publish(self, result: StepResult) -> None:
        self.log(result)
        if report := result.files.get("report"):
            print(f"report: {report}", file=self.stream)
