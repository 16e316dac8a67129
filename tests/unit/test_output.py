"""What people read: the log, the job summary and summary.md (issue 10 §5)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelci.results import Check, StepResult, format_number, format_value
from tests.conftest import EXAMPLE, CliRunner

CONTRACT = """\
version: 1
table:
  rows: {min: 5}
columns:
  age: {dtype: integer, min: 0, max: 120}
  city: {dtype: string, allowed: [Oslo, Bergen]}
"""


def _project(root: Path, rows: list[str]) -> Path:
    (root / "data").mkdir()
    (root / "data" / "batch.csv").write_text("age,city\n" + "\n".join(rows) + "\n")
    (root / "contract.yaml").write_text(CONTRACT)
    (root / "modelci.yaml").write_text("version: 1\ndata: {path: data/batch.csv}\n"
                                       "contract: contract.yaml\n")  # fmt: skip
    return root


GOOD = ["30,Oslo", "40,Bergen", "50,Oslo", "60,Bergen", "70,Oslo"]


def test_a_pass_prints_the_verdict_not_the_table(run_cli: CliRunner, in_tmp: Path) -> None:
    _project(in_tmp, GOOD)
    res = run_cli("validate-data")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].startswith("validate-data passed: data/batch.csv (5 rows, 2 columns)")
    assert "PASS" not in res.out and "modelci validate-data" not in res.out
    assert res.err == ""


@pytest.mark.parametrize("flag", [("-v",), ("--verbose",)])
def test_verbose_prints_every_check(
    run_cli: CliRunner, in_tmp: Path, flag: tuple[str, ...]
) -> None:
    _project(in_tmp, GOOD)
    for args in (("validate-data", *flag), (*flag, "validate-data")):
        res = run_cli(*args)
        assert res.code == 0, res.err
        rows = [line for line in res.out.splitlines() if line.startswith("PASS")]
        assert len(rows) >= 8
        # the table-level rows that decide the gate come first
        assert rows[0].split()[1] == "(table)" and rows[0].split()[2] == "rows"


def test_a_failure_prints_failing_rows_and_its_line_once(run_cli: CliRunner, in_tmp: Path) -> None:
    _project(in_tmp, ["30,Oslo", "400,Rome"])
    res = run_cli("validate-data")
    assert res.code == 1
    verdict = "validate-data failed: data/batch.csv (2 rows, 2 columns)"
    assert (res.out + res.err).count(verdict) == 1
    assert res.err.startswith(f"modelci: error: {verdict}")
    assert res.err.count("\n") == 1
    rows = [line.split() for line in res.out.splitlines() if line.startswith(("FAIL", "PASS"))]
    # only what failed, the table-level row count first
    assert [r[0] for r in rows] == ["FAIL", "FAIL", "FAIL"]
    assert rows[0][1:3] == ["(table)", "rows"]
    assert {tuple(r[1:3]) for r in rows[1:]} == {("age", "max"), ("city", "allowed")}
    assert "passing or skipped checks not shown: -v lists them" in res.out


def test_summary_md_puts_failures_first_and_folds_passing_checks(
    run_cli: CliRunner, in_tmp: Path
) -> None:
    _project(in_tmp, ["30,Oslo", "400,Rome"])
    run_cli("validate-data")
    summary = (in_tmp / ".modelci" / "validate-data" / "summary.md").read_text()
    failing, _, folded = summary.partition("<details>")
    assert "❌" in failing and "✅" not in failing
    assert failing.index("| ❌ | (table) | rows |") < failing.index("| ❌ | age | max |")
    assert folded.startswith("<summary>")
    assert "passing checks</summary>" in folded and "✅" in folded and "❌" not in folded
    assert folded.rstrip().endswith("</details>")
    # paths relative to the project, not absolute
    assert "`data/batch.csv`" in summary and "`contract.yaml`" in summary
    assert str(in_tmp) not in summary


def test_a_pass_folds_every_check(run_cli: CliRunner, in_tmp: Path) -> None:
    _project(in_tmp, GOOD)
    run_cli("validate-data")
    summary = (in_tmp / ".modelci" / "validate-data" / "summary.md").read_text()
    assert summary.count("<details>") == 1
    assert "| ✅ |" not in summary.partition("<details>")[0]


def test_github_job_summary_folds_passing_checks(
    run_cli: CliRunner, in_tmp: Path, tmp_path: Path
) -> None:
    shutil.copytree(EXAMPLE, in_tmp / "qs")
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("")
    env = {"MODELCI_CI": "github", "GITHUB_STEP_SUMMARY": str(step_summary)}
    res = run_cli("validate-data", "--config", "qs/modelci.yaml", env=env)
    assert res.code == 0, res.err
    text = step_summary.read_text()
    before, _, folded = text.partition("<details>")
    assert "✅ |" not in before
    assert folded.count("| ✅ |") > 100
    # and the log stays short: the verdict, not 200 rows
    assert len(res.out.splitlines()) < 5, res.out


def test_no_negative_or_signed_zero() -> None:
    assert format_value(-0.0) == "0"
    assert format_value(-0.000001) == "-1e-06"
    assert format_number(0.0, signed=True) == "0"
    assert format_number(-0.0, signed=True) == "0"
    assert format_number(0.01234, signed=True) == "+0.01234"
    assert format_number(-0.5, signed=True) == "-0.5"


def test_slice_labels_are_rounded() -> None:
    from modelci.comparing.slices import interval_labels

    assert interval_labels([(7.7589999999999995, 11.608), (11.608, 20.0)]) == [
        "(7.759, 11.61]",
        "(11.61, 20]",
    ]
    # close bins keep the digits that tell them apart
    assert interval_labels([(1.00001, 1.00002), (1.00002, 1.00003)]) == [
        "(1.00001, 1.00002]",
        "(1.00002, 1.00003]",
    ]


def test_quantile_slices_of_compare_are_labelled_rounded() -> None:
    import pandas as pd

    from modelci.comparing.slices import SliceSpec, build

    data = pd.DataFrame({"x": [i * 0.1 + 1e-12 for i in range(100)]})
    spec = SliceSpec(column="x", rule=None, bins=3)  # type: ignore[arg-type]
    labels = [s.label for s in build(spec, data, "eval.csv")]
    assert labels == ["(-0.001, 3.3]", "(3.3, 6.6]", "(6.6, 9.9]"], labels


def test_log_orders_table_level_rows_first() -> None:
    from modelci.ci.base import render_table

    checks = [
        Check("drift.ks", False, 0.01, "p > 0.05", column="a"),
        Check("drift.share", False, 0.6, "< 0.5"),
        Check("nullable", True, 0, 0, column="b"),
    ]
    table = render_table(StepResult("validate-data", False, "x", checks))
    rows = [line.split()[:3] for line in table.splitlines()[3:]]
    assert rows == [["FAIL", "(table)", "drift.share"], ["FAIL", "a", "drift.ks"],
                    ["PASS", "b", "nullable"]]  # fmt: skip


def test_junit_cases_carry_file_and_line(run_cli: CliRunner, in_tmp: Path) -> None:
    # GitLab has no line annotations: its test report shows the case's file, and the
    # failure message begins with file:line
    import xml.etree.ElementTree as ET

    _project(in_tmp, ["30,Oslo", "400,Rome"])
    run_cli("validate-data")
    root = ET.parse(in_tmp / ".modelci" / "validate-data" / "junit.xml").getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "age: max")
    assert (case.get("file"), case.get("line")) == ("data/batch.csv", "3")
    failure = case.find("failure")
    assert failure is not None and failure.get("message", "").startswith("data/batch.csv:3: ")


def test_a_step_not_about_columns_heads_its_table_with_what_checks_are_on() -> None:
    from modelci.ci.base import render_table
    from modelci.results import Check, StepResult

    checks = [
        Check(rule="signature verifies", passed=True, observed="key"),
        Check(rule="unsafe-global", passed=False, column="model/weights.pkl"),
    ]
    header, _rule, *rows = render_table(StepResult("scan", False, "x", checks)).splitlines()[1:]
    assert header.split()[:2] == ["on", "rule"]
    assert "(table)" not in "\n".join(rows)
    assert any(row.split()[:2] == ["PASS", "—"] for row in rows)
