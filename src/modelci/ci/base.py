"""What every CI adapter does with a step result."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from modelci.results import StepResult, format_value

#: annotations beyond this many are summarised: CI systems cap them anyway
MAX_ANNOTATIONS = 10


class Adapter:
    name = "local"

    def __init__(self, env: Mapping[str, str], stream: TextIO | None = None) -> None:
        self.env = env
        self.stream = stream or sys.stdout

    def publish(self, result: StepResult) -> None:
        """Show the result: always a readable log; subclasses add their platform's reports."""
        self.log(result)

    def files(self, result: StepResult) -> dict[str, str | bytes]:
        """Report files of this platform, written into the step's folder with its record."""
        return {}

    def note(self, text: str) -> None:
        """A line of news for the log."""
        print(text, file=self.stream)

    def warn(self, text: str) -> None:
        """Something went wrong that does not fail the gate."""
        print(f"warning: {text}", file=sys.stderr)

    def log(self, result: StepResult) -> None:
        print(render_table(result), file=self.stream)
        # A warning's message is the news (an archived version, a pass without production);
        # the table cuts long cells.
        for check in result.checks:
            if not check.passed and check.severity == "warning" and check.message:
                print(f"warning: {check.message}", file=self.stream)
        print(result.summary, file=self.stream)


def render_table(result: StepResult, *, max_rows: int = 60) -> str:
    """A plain-text table of checks for logs; failed checks first, passing ones abridged."""
    checks = sorted(result.checks, key=lambda c: (c.passed, c.severity != "error"))
    rows = [
        (
            c.state.upper(),
            c.column or "(table)",
            c.rule,
            format_value(c.observed),
            format_value(c.expected),
        )
        for c in checks
    ]
    header = ("", "column", "rule", "observed", "expected")
    shown = rows[:max_rows]
    widths = [min(40, max(len(r[i]) for r in [header, *shown])) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            cell if len(cell) <= w else cell[: w - 1] + "…"
            for cell, w in zip(row, widths, strict=True)
        ]
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    lines = [f"modelci {result.step}", fmt(header), fmt(tuple("-" * w for w in widths))]
    lines += [fmt(r) for r in shown]
    if len(rows) > max_rows:
        lines.append(f"… {len(rows) - max_rows} more passing checks in the JSON report")
    return "\n".join(lines)
