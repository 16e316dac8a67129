"""What a step returns: its checks, outputs and metrics, ready for any CI adapter."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal


def counted(count: int, noun: str) -> str:
    """``1 file``, ``2 files``: counts in summaries read as sentences."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def subject_heading(step: str) -> tuple[str, str]:
    """The check tables' first heading, and what stands under it for a check about the whole:
    validate-data's checks are about a column or the whole table; other steps' about a file,
    a metric, the model."""
    return ("column", "(table)") if step == "validate-data" else ("on", "—")


Severity = Literal["error", "warning"]
State = Literal["skip", "pass", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One verdict: on which column, by which rule, what was seen against what was wanted."""

    rule: str
    passed: bool
    observed: Any = None
    expected: Any = None
    column: str | None = None
    message: str = ""
    severity: Severity = "error"
    #: where the problem sits, for annotations: (file, line) when known
    file: str | None = None
    line: int | None = None
    #: not judged at all (a slice too small to say anything): neither a pass nor a failure,
    #: shown as skipped everywhere; ``passed`` stays true so it never fails a gate
    skipped: bool = False

    @property
    def name(self) -> str:
        return f"{self.column}: {self.rule}" if self.column else self.rule

    @property
    def blocking(self) -> bool:
        return not self.passed and self.severity == "error"

    @property
    def state(self) -> State:
        """What a table shows for it: skipped, passed, a warning or a failure."""
        if self.skipped:
            return "skip"
        if self.passed:
            return "pass"
        return "warn" if self.severity == "warning" else "fail"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["observed"] = plain(self.observed)
        data["expected"] = plain(self.expected)
        if not self.skipped:
            del data["skipped"]
        return {k: v for k, v in data.items() if v is not None and v != ""}


#: the order a table lists checks in: what broke the gate, then what to look at
_STATE_ORDER: dict[State, int] = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}


def ordered(checks: list[Check]) -> list[Check]:
    """Failures, then warnings, passes and skipped checks; within each, the table-level rows
    that decide the gate (drift share, row count) before the per-column ones."""
    return sorted(checks, key=lambda c: (_STATE_ORDER[c.state], c.column is not None))


@dataclass
class Record:
    """What the shared tail writes with the step's manifest entry (:func:`modelci.step.finish`).

    ``section`` is the step's typed manifest section; ``datasets`` are merged by role;
    ``files`` (relative to the step's folder) and ``moves`` (finished files or folders
    elsewhere) are written together with the entry or not at all. ``recorded`` runs once the
    record is written (train marks its version ready); ``failed`` runs when it could not be
    (promote puts the alias back, train deletes its version); ``cleanup`` runs last whatever
    happened (train's scratch folder, which holds what ``moves`` names until then).
    """

    section: Any = None
    datasets: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str | bytes] = field(default_factory=dict)
    moves: dict[str, Path] = field(default_factory=dict)
    recorded: list[Callable[[], None]] = field(default_factory=list)
    failed: list[Callable[[], None]] = field(default_factory=list)
    cleanup: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class StepResult:
    """The outcome of one step, independent of where it ran."""

    step: str
    passed: bool
    summary: str
    checks: list[Check] = field(default_factory=list)
    #: step outputs (GitHub outputs, GitLab dotenv); short nouns as keys
    outputs: dict[str, str] = field(default_factory=dict)
    #: numeric results for metrics reports
    metrics: dict[str, float] = field(default_factory=dict)
    #: the Markdown body for job summaries and PR comments
    markdown: str = ""
    #: files the step wrote, by role (report, junit, summary, ...)
    files: dict[str, Path] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    #: SARIF 2.1.0 of the step's findings (scan), written as ``results.sarif``
    sarif: dict[str, Any] | None = None
    record: Record = field(default_factory=Record)

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "passed": self.passed,
            "summary": self.summary,
            "outputs": self.outputs,
            "metrics": {k: plain(v) for k, v in self.metrics.items()},
            "checks": [c.to_dict() for c in self.checks],
            **({"details": plain(self.details)} if self.details else {}),
        }


def plain(value: Any) -> Any:
    """``value`` as JSON and YAML readers expect it: numpy scalars and arrays as Python
    values, tuples and sets as lists, paths and dates as text, NaN as null, infinities as
    ``"inf"``/``"-inf"``, keys as strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if not isinstance(value, str):
        item = getattr(value, "item", None)
        if callable(item) and getattr(value, "ndim", 0) == 0:
            return plain(item())
        tolist = getattr(value, "tolist", None)
        if callable(tolist):
            return plain(tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def format_value(value: Any) -> str:
    """Short human form for tables: 4 significant digits for floats, lists abridged."""
    value = plain(value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, list):
        shown = ", ".join(format_value(v) for v in value[:5])
        return f"[{shown}{', …' if len(value) > 5 else ''}]"
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)


def format_number(value: float, *, signed: bool = False) -> str:
    """4 significant digits; zero (negative zero, or what rounds to it) is ``0``, never
    ``-0`` or ``+0``; ``signed`` marks positive values with ``+`` (a change or a bound)."""
    text = f"{value:{'+' if signed else ''}.4g}"
    if text.lstrip("+-") == "0":
        return "0"
    return text
