"""Report files every step writes into its part of the run folder: JSON, Markdown, JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from modelci.results import Check, StepResult, format_value, ordered, plain, subject_heading

MAX_TABLE_ROWS = 200
REPORT = "report.json"
SUMMARY = "summary.md"
JUNIT = "junit.xml"
SARIF = "results.sarif"
MARKS = {"skip": "⏭️", "pass": "✅", "warn": "⚠️", "fail": "❌"}


def markdown_table(checks: list[Check], step: str, *, failed_first: bool = True) -> str:
    """The checks as people read them in a job summary or ``summary.md``: failures and
    warnings in a table first (the gate's table-level rows before per-column ones), the
    passing and skipped checks folded away below (``<details>``)."""
    rows = ordered(checks) if failed_first else list(checks)
    news = [c for c in rows if c.state in ("fail", "warn")]
    quiet = [c for c in rows if c.state not in ("fail", "warn")]
    parts: list[str] = []
    if news:
        parts.append(_table(news, step))
    if quiet:
        passed = sum(1 for c in quiet if c.state == "pass")
        skipped = len(quiet) - passed
        label = f"{passed} passing check{'s' if passed != 1 else ''}" + (
            f", {skipped} skipped" if skipped else ""
        )
        parts.append(f"<details><summary>{label}</summary>\n\n{_table(quiet, step)}\n\n</details>")
    return "\n\n".join(parts) if parts else "No checks."


def _table(checks: list[Check], step: str) -> str:
    heading, whole = subject_heading(step)
    lines = [f"| | {heading} | rule | observed | expected |", "|---|---|---|---|---|"]
    for check in checks[:MAX_TABLE_ROWS]:
        mark = MARKS[check.state]
        cells = (
            check.column or whole,
            check.rule,
            format_value(check.observed),
            format_value(check.expected),
        )
        lines.append(f"| {mark} | " + " | ".join(markdown_cell(c) for c in cells) + " |")
    if len(checks) > MAX_TABLE_ROWS:
        more = len(checks) - MAX_TABLE_ROWS
        lines.append(f"| | … {more} more checks in the JSON report | | | |")
    return "\n".join(lines)


def markdown_cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell: pipes escaped, one line."""
    return text.replace("|", "\\|").replace("\n", " ")


def junit_xml(result: StepResult) -> bytes:
    """One test case per check, so a CI test view lists every rule and what broke it."""
    failures = sum(1 for c in result.checks if c.blocking)
    suite = ET.Element(
        "testsuite",
        name=f"modelci {result.step}",
        tests=str(len(result.checks)),
        failures=str(failures),
        errors="0",
        skipped=str(sum(1 for c in result.checks if c.skipped)),
    )
    for check in result.checks:
        case = ET.SubElement(suite, "testcase", classname=f"modelci.{result.step}", name=check.name)
        if check.file:
            # GitLab's test report links the case to the file (it has no line annotations)
            case.set("file", check.file)
            if check.line:
                case.set("line", str(check.line))
        if check.skipped:
            ET.SubElement(case, "skipped", message=check.message or "not judged")
        elif not check.passed:
            tag = "failure" if check.severity == "error" else "system-out"
            where = f"{check.file}:{check.line}: " if check.file and check.line else ""
            detail = (
                f"{where}{check.message or check.rule}: observed {format_value(check.observed)}, "
                f"expected {format_value(check.expected)}"
            )
            if tag == "failure":
                ET.SubElement(case, "failure", message=detail, type=check.rule).text = detail
            else:
                ET.SubElement(case, "system-out").text = f"warning: {detail}"
    suites = ET.Element("testsuites", name="modelci")
    suites.append(suite)
    ET.indent(suites)
    data: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return data


def step_reports(result: StepResult, step_dir: Path) -> dict[str, str | bytes]:
    """The report files of a step (``report.json``, ``summary.md``, ``junit.xml``, and
    ``results.sarif`` when the step has SARIF), by name in its folder; their paths are
    recorded on the result."""
    result.files.update(
        {"report": step_dir / REPORT, "summary": step_dir / SUMMARY, "junit": step_dir / JUNIT}
    )
    # A declared output the step left without a value is already there, empty: fill it.
    if not result.outputs.get("report"):
        result.outputs["report"] = str(step_dir / REPORT)
    files: dict[str, str | bytes] = {
        SUMMARY: result.markdown + "\n",
        JUNIT: junit_xml(result),
    }
    if result.sarif is not None:
        result.files["sarif"] = step_dir / SARIF
        if not result.outputs.get("sarif"):
            result.outputs["sarif"] = str(step_dir / SARIF)
        files[SARIF] = json.dumps(result.sarif, indent=2) + "\n"
    # last: the report lists the outputs, the sarif one included
    files[REPORT] = json.dumps(plain(result.to_dict()), indent=2) + "\n"
    return files
