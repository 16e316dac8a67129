from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from modelci import fsutil, reports
from modelci.ci import GitHubAdapter, GitLabAdapter, LocalAdapter, detect
from modelci.ci.github import command
from modelci.errors import ConfigError
from modelci.results import Check, StepResult


def sample(tmp_path: Path, passed: bool = False) -> StepResult:
    checks = [
        Check(
            rule="min",
            column="age",
            observed=-3,
            expected=">= 0",
            passed=passed,
            file="data.csv",
            line=7,
            message="value below minimum",
        ),
        Check(rule="dtype", column="name|x", observed="string", expected="string", passed=True),
        Check(
            rule="drift.psi",
            column="city",
            observed=0.3,
            expected="< 0.2",
            passed=False,
            severity="warning",
        ),
    ]
    result = StepResult(
        step="validate-data",
        passed=passed,
        summary="validate-data failed",
        checks=checks,
        outputs={"digest": "sha256:ab", "rows": "10"},
        metrics={"rows": 10.0, "drift_share": 0.25},
        markdown="table",
    )
    step_dir = tmp_path / "validate-data"
    for name, content in reports.step_reports(result, step_dir).items():
        fsutil.write_bytes(
            step_dir / name, content.encode() if isinstance(content, str) else content
        )
    return result


def test_detect() -> None:
    assert isinstance(detect({"GITHUB_ACTIONS": "true"}), GitHubAdapter)
    assert isinstance(detect({"GITLAB_CI": "true"}), GitLabAdapter)
    assert isinstance(detect({}), LocalAdapter)
    assert isinstance(detect({"GITHUB_ACTIONS": "true", "MODELCI_CI": "local"}), LocalAdapter)
    with pytest.raises(ConfigError, match="MODELCI_CI"):
        detect({"MODELCI_CI": "jenkins"})


def test_github_outputs_summary_and_annotations(tmp_path: Path) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary"
    stream = io.StringIO()
    GitHubAdapter({"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}, stream).publish(
        sample(tmp_path)
    )
    text = out.read_text()
    found = re.findall(r"^([a-z-]+)<<(\S+)\n(.*?)\n\2$", text, flags=re.M | re.S)
    parsed = {key: value for key, _, value in found}
    assert parsed["passed"] == "false"
    assert parsed["digest"] == "sha256:ab"
    assert parsed["report"].endswith("validate-data/report.json")
    assert "## modelci validate-data" in summary.read_text()
    log = stream.getvalue()
    assert "::error title=modelci validate-data%3A age%3A min,file=data.csv,line=7::" in log
    assert "::warning title=" in log


def test_annotation_cannot_forge_a_command() -> None:
    line = command("error", "bad\n::set-output name=x::1", {"file": "a,b:c"})
    assert "\n" not in line
    assert line == "::error file=a%2Cb%3Ac::bad%0A::set-output name=x::1"


def test_output_value_with_newline_cannot_add_an_output(tmp_path: Path) -> None:
    from modelci.ci.github import write_outputs

    out = tmp_path / "out"
    write_outputs(out, {"report": "x\nevil=1"})
    text = out.read_text()
    delim = text.split("<<", 1)[1].split("\n", 1)[0]
    assert text == f"report<<{delim}\nx\nevil=1\n{delim}\n"


def test_gitlab_dotenv_and_metrics(tmp_path: Path) -> None:
    # the files are written by the step's tail, with its reports and manifest entry
    files = GitLabAdapter({}, io.StringIO()).files(sample(tmp_path))
    env = str(files["outputs.env"]).splitlines()
    assert "MODELCI_VALIDATE_DATA_PASSED=false" in env
    assert "MODELCI_VALIDATE_DATA_DIGEST=sha256:ab" in env
    metrics = str(files["metrics.txt"]).splitlines()
    assert "modelci_validate_data_drift_share 0.25" in metrics


def test_local_table_shows_failures_first(tmp_path: Path) -> None:
    stream = io.StringIO()
    LocalAdapter({}, stream).publish(sample(tmp_path))
    lines = stream.getvalue().splitlines()
    assert lines[3].startswith("FAIL") and "age" in lines[3]
    assert "report:" in lines[-1]


def test_junit_one_case_per_check(tmp_path: Path) -> None:
    result = sample(tmp_path)
    root = ET.parse(result.files["junit"]).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["age: min", "name|x: dtype", "city: drift.psi"]
    assert cases[0].find("failure") is not None
    assert cases[2].find("failure") is None  # a warning is not a failure


def test_markdown_escapes_pipes(tmp_path: Path) -> None:
    table = reports.markdown_table(sample(tmp_path).checks, "validate-data")
    assert "name\\|x" in table
    assert table.splitlines()[2].startswith("| ❌ | age")
