"""What every CI adapter does with a step result."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from modelci.results import Check, StepResult, format_value, ordered, subject_heading

#: annotations beyond this many are summarised: CI systems cap them anyway
MAX_ANNOTATIONS = 10


class Adapter:
    name = "local"

    def __init__(
        self, env: Mapping[str, str], stream: TextIO | None = None, *, verbose: bool = False
    ) -> None:
        self.env = env
        self.stream = stream or sys.stdout
        #: list every check in the log, not only the failing and warning ones
        self.verbose = verbose

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
        """The checks that failed or warned (every check with ``verbose``), each warning's
        news, and a pass's verdict line last. A failed gate's verdict is printed once, by
        the command line, as its error line on stderr (every failed exit has one)."""
        shown = result.checks if self.verbose else [c for c in result.checks if not c.passed]
        if shown:
            hidden = len(result.checks) - len(shown)
            print(render_table(result, shown, hidden=hidden, max_rows=None if self.verbose else 60),
                  file=self.stream)  # fmt: skip
        line = verdict_line(result)
        # A warning's message is the news (an archived version, a pass without production);
        # the table cuts long cells.
        for check in ordered(shown):
            if check.state == "warn" and check.message and check.message not in line:
                print(f"warning: {check.message}", file=self.stream)
        if result.passed:
            print(line, file=self.stream)


def verdict_line(result: StepResult) -> str:
    """The step's verdict as one line that names the step."""
    line = result.summary
    return line if line.startswith(f"{result.step} ") else f"{result.step}: {line}"


def render_table(
    result: StepResult,
    checks: list[Check] | None = None,
    *,
    max_rows: int | None = 60,
    hidden: int = 0,
) -> str:
    """A plain-text table of ``checks`` (default: all of the result's) for logs, in
    :func:`ordered` order; ``hidden`` passing checks are counted below it."""
    heading, whole = subject_heading(result.step)
    rows = [
        (
            c.state.upper(),
            c.column or whole,
            c.rule,
            format_value(c.observed),
            format_value(c.expected),
        )
        for c in ordered(list(result.checks if checks is None else checks))
    ]
    header = ("", heading, "rule", "observed", "expected")
    shown = rows if max_rows is None else rows[:max_rows]
    widths = [min(40, max(len(r[i]) for r in [header, *shown])) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            cell if len(cell) <= w else cell[: w - 1] + "…"
            for cell, w in zip(row, widths, strict=True)
        ]
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    lines = [f"modelci {result.step}", fmt(header), fmt(tuple("-" * w for w in widths))]
    lines += [fmt(r) for r in shown]
    if len(rows) > len(shown):
        lines.append(f"… {len(rows) - len(shown)} more checks in the JSON report")
    if hidden:
        lines.append(f"({hidden} passing or skipped checks not shown: -v lists them)")
    return "\n".join(lines)
