"""compare's settings, read once from the configuration (packaged defaults included)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelci.comparing.rules import Rule, parse_rules
from modelci.comparing.slices import SliceSpec, parse_slices
from modelci.config import Config


@dataclass(frozen=True)
class BudgetLimits:
    max_size_mb: float | None = None
    max_p95_latency_ms: float | None = None
    #: single-row predictions timed for the latency budget
    latency_samples: int = 100


@dataclass(frozen=True)
class Settings:
    confidence: float
    resamples: int
    seed: int
    mcnemar: bool
    #: the decision when no production model exists yet: "pass" or "fail"
    no_production: str
    #: the registry alias production is found behind
    alias: str
    budgets: BudgetLimits
    html: bool
    rules_raw: Mapping[str, Any] | None
    slices_raw: list[Mapping[str, Any]] | None
    #: where rules and slices were set, for error messages
    rules_where: str
    slices_where: str
    #: the project folder: a metric given as module:function may live there
    base_dir: Path | None = None

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        section: Mapping[str, Any] = config.get("compare") or {}
        limits: Mapping[str, Any] = section.get("budgets") or {}
        return cls(
            confidence=float(section["confidence"]),
            resamples=int(section["resamples"]),
            seed=int(section["seed"]),
            mcnemar=bool(section["mcnemar"]),
            no_production=str(section["no_production"]),
            alias=str(config.get("registry.alias")),
            budgets=BudgetLimits(
                max_size_mb=_number(limits.get("max_size_mb")),
                max_p95_latency_ms=_number(limits.get("max_p95_latency_ms")),
                latency_samples=int(limits.get("latency_samples") or BudgetLimits.latency_samples),
            ),
            html=bool(section.get("html", True)),
            rules_raw=section.get("rules"),
            slices_raw=section.get("slices"),
            rules_where=config.where("compare.rules"),
            slices_where=config.where("compare.slices"),
            base_dir=config.base_dir,
        )

    def rules(self, task: str) -> list[Rule]:
        """The rules for ``task`` (the task's default rule when none are set)."""
        return parse_rules(self.rules_raw, task, self.rules_where, base_dir=self.base_dir)

    def slices(self, task: str) -> list[SliceSpec]:
        return parse_slices(self.slices_raw, task, self.slices_where, base_dir=self.base_dir)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
