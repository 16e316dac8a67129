"""validate-data end to end through the CLI, on the bundled example and variations of it."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE, CliRunner


@pytest.fixture
def project(in_tmp: Path) -> Path:
    shutil.copytree(EXAMPLE, in_tmp, dirs_exist_ok=True)
    return in_tmp


def report(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / ".modelci/validate-data/report.json").read_text())
    return data


def manifest(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / ".modelci/manifest.json").read_text())
    return data


def test_example_passes_and_records_the_digest(run_cli: CliRunner, project: Path) -> None:
    res = run_cli("validate-data")  # everything comes from modelci.yaml
    assert res.code == 0, res.err
    rep = report(project)
    assert rep["passed"] is True
    assert len(rep["checks"]) > 60
    for check in rep["checks"]:
        assert {"rule", "passed"} <= set(check)
    man = manifest(project)
    digest = man["datasets"]["data"]["digest"]
    assert digest.startswith("sha256:") and len(digest) == 71
    assert man["datasets"]["data"]["rows"] == 569
    assert man["steps"]["validate-data"]["passed"] is True
    assert man["steps"]["validate-data"]["report"] == "validate-data/report.json"
    # the digest is the content hash: a second run gives the same one
    assert run_cli("validate-data").code == 0
    assert manifest(project)["datasets"]["data"]["digest"] == digest


def test_junit_has_one_case_per_check(run_cli: CliRunner, project: Path) -> None:
    assert run_cli("validate-data").code == 0
    suite = ET.parse(project / ".modelci/validate-data/junit.xml").getroot()[0]
    assert int(suite.get("tests", "0")) == len(report(project)["checks"])
    assert suite.get("failures") == "0"
    summary = (project / ".modelci/validate-data/summary.md").read_text()
    assert "✅ passed" in summary


def test_out_of_range_value_fails_the_gate(run_cli: CliRunner, project: Path) -> None:
    lines = (project / "data/train.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[5].split(",")
    row[header.index("mean_radius")] = "-4.5"
    lines[5] = ",".join(row)
    (project / "data/train.csv").write_text("\n".join(lines) + "\n")
    res = run_cli("validate-data")
    assert res.code == 1
    assert "mean_radius" in res.err
    failed = [c for c in report(project)["checks"] if not c["passed"]]
    assert any(c.get("column") == "mean_radius" and c["rule"] == "min" for c in failed)
    assert manifest(project)["steps"]["validate-data"]["passed"] is False


def test_drift_fails_and_can_be_made_a_warning(run_cli: CliRunner, project: Path) -> None:
    import pandas as pd

    df = pd.read_csv(project / "data/train.csv")
    numeric = [c for c in df.columns if c not in ("patient_id", "diagnosis")]
    df[numeric] = df[numeric] * 1.6  # within the contract's bounds, far from the reference
    df.to_csv(project / "drifted.csv", index=False)
    res = run_cli("validate-data", "drifted.csv")
    assert res.code == 1
    rep = report(project)
    assert float(rep["outputs"]["drift-share"]) >= 0.5
    assert any(c["rule"] == "drift.share" and not c["passed"] for c in rep["checks"])
    res = run_cli("validate-data", "drifted.csv", "--warn-on-drift")
    assert res.code == 0, res.err
    res = run_cli("validate-data", "drifted.csv", "--no-drift")
    assert res.code == 0
    assert report(project)["outputs"]["drift-share"] == ""  # declared, so always written


def test_saved_profile_gives_the_same_drift(run_cli: CliRunner, project: Path) -> None:
    res = run_cli("validate-data", "--save-profile", "ref.mprof")
    assert res.code == 0, res.err
    first = [c for c in report(project)["checks"] if c["rule"].startswith("drift")]
    assert (project / "ref.mprof").is_file()
    res = run_cli("validate-data", "--reference", "ref.mprof")
    assert res.code == 0, res.err
    second = [c for c in report(project)["checks"] if c["rule"].startswith("drift")]
    assert first == second and first


def test_profile_command_then_reuse(run_cli: CliRunner, project: Path) -> None:
    res = run_cli("profile", "data/reference.csv", "-o", "p.mprof", "--contract", "contract.yaml")
    assert res.code == 0, res.err
    assert run_cli("validate-data", "--reference", "p.mprof").code == 0


def test_parquet_folder_input(run_cli: CliRunner, project: Path) -> None:
    import pandas as pd

    df = pd.read_csv(project / "data/train.csv")
    (project / "parts").mkdir()
    df.iloc[:300].to_parquet(project / "parts/part-0.parquet", index=False)
    df.iloc[300:].to_parquet(project / "parts/part-1.parquet", index=False)
    res = run_cli("validate-data", "parts")
    assert res.code == 0, res.err
    assert manifest(project)["datasets"]["data"]["rows"] == 569
    assert run_cli("validate-data", "parts/part-*.parquet").code == 0


def test_contract_infer_round_trip(run_cli: CliRunner, project: Path) -> None:
    res = run_cli("contract", "infer", "data/reference.csv", "-o", "inferred.yaml")
    assert res.code == 0, res.err
    assert run_cli("contract", "check", "inferred.yaml").code == 0
    res = run_cli("validate-data", "data/reference.csv", "--contract", "inferred.yaml")
    assert res.code == 0, res.err


def test_bad_contract_exits_2_before_reading_data(run_cli: CliRunner, project: Path) -> None:
    (project / "bad.yaml").write_text("version: 1\ncolumns:\n  a: {dtype: integr}\n")
    res = run_cli("validate-data", "--contract", "bad.yaml")
    assert res.code == 2
    assert res.err.startswith("modelci: error: ")
    assert "bad.yaml" in res.err and "columns.a" in res.err
    assert res.err.strip().count("\n") == 0


def test_unreadable_data_exits_2(run_cli: CliRunner, project: Path) -> None:
    (project / "bad.csv").write_bytes(b"a,b\n1,2\n3\n")
    res = run_cli("validate-data", "bad.csv")
    assert res.code == 2
    assert "bad.csv" in res.err
    assert not (project / ".modelci/validate-data/report.json").exists()


def test_github_mode_writes_outputs_and_summary(run_cli: CliRunner, project: Path) -> None:
    out, summary = project / "gh-out", project / "gh-summary"
    res = run_cli(
        "validate-data",
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(out),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
    )
    assert res.code == 0, res.err
    text = out.read_text()
    assert "passed<<" in text and "digest<<" in text and "drift-share<<" in text
    assert "## modelci validate-data" in summary.read_text()


def test_gitlab_mode_writes_dotenv_and_metrics(run_cli: CliRunner, project: Path) -> None:
    res = run_cli("validate-data", env={"GITLAB_CI": "true"})
    assert res.code == 0, res.err
    env = (project / ".modelci/validate-data/outputs.env").read_text()
    assert "MODELCI_VALIDATE_DATA_PASSED=true" in env
    metrics = (project / ".modelci/validate-data/metrics.txt").read_text()
    assert "modelci_validate_data_rows 569" in metrics


def test_pipeline_runs_available_steps(run_cli: CliRunner, project: Path) -> None:
    res = run_cli("pipeline", "--steps", "validate-data")
    assert res.code == 0, res.err
    assert "PASS  validate-data passed: " in res.out  # the step's name once, not twice


def test_inferred_contract_accepts_a_later_batch(run_cli: CliRunner, project: Path) -> None:
    # the reference and the training batch come from one source; train's ids are new ones
    res = run_cli("contract", "infer", "data/reference.csv", "-o", "inferred.yaml")
    assert res.code == 0, res.err
    inferred = (project / "inferred.yaml").read_text()
    assert "role: target" in inferred  # data.target of modelci.yaml
    assert "primary_key:\n  - patient_id" in inferred
    res = run_cli("validate-data", "data/train.csv", "--contract", "inferred.yaml")
    assert res.code == 0, res.err
    checks = report(project)["checks"]
    assert not any(
        c.get("column") == "patient_id" and c["rule"].startswith("drift") for c in checks
    )


def test_contract_infer_never_replaces_a_file_unasked(run_cli: CliRunner, project: Path) -> None:
    before = (project / "contract.yaml").read_text()
    res = run_cli("contract", "infer", "data/reference.csv", "-o", "contract.yaml")
    assert res.code == 2
    assert res.err.strip() == (
        "modelci: error: contract.yaml: already exists; remove it or pass --force to replace it"
    )
    assert (project / "contract.yaml").read_text() == before
    res = run_cli("contract", "infer", "data/reference.csv", "-o", "contract.yaml", "--force")
    assert res.code == 0, res.err
    assert (project / "contract.yaml").read_text() != before


def test_contract_infer_flags(run_cli: CliRunner, project: Path) -> None:
    import yaml

    res = run_cli(
        "contract", "infer", "data/reference.csv", "-o", "c.yaml",
        "--target", "mean_radius", "--rows", "--exact-bounds",
    )  # fmt: skip
    assert res.code == 0, res.err
    data = yaml.safe_load((project / "c.yaml").read_text())
    assert data["columns"]["mean_radius"]["role"] == "target"
    assert "role" not in data["columns"]["diagnosis"]
    assert set(data["table"]["rows"]) == {"min", "max"}
    import pandas as pd

    frame = pd.read_csv(project / "data/reference.csv")
    assert data["columns"]["mean_area"]["max"] == frame["mean_area"].max()
    res = run_cli("contract", "infer", "data/reference.csv", "-o", "d.yaml", "--target", "nope")
    assert res.code == 2
    assert "no target column 'nope' (--target)" in res.err
    assert not (project / "d.yaml").exists()


def test_target_drift_is_reported_apart(run_cli: CliRunner, project: Path) -> None:
    import pandas as pd

    df = pd.read_csv(project / "data/train.csv")
    malignant = df.index[df["diagnosis"] == "malignant"]
    df.drop(index=malignant[: len(malignant) * 3 // 4]).to_csv(project / "fewer.csv", index=False)
    res = run_cli("validate-data", "fewer.csv")
    assert res.code == 1
    assert "target drifted" in res.out + res.err
    rep = report(project)
    failed = {
        c["rule"] for c in rep["checks"] if not c["passed"] and c.get("column") == "diagnosis"
    }
    assert "drift.target" in failed
    assert float(rep["outputs"]["drift-share"]) < 0.5
    assert manifest(project)["validate_data"]["target_drift"] is True


@pytest.mark.parametrize(
    "args",
    [
        ["contract", "check", "pipe"],
        ["validate-data", "--contract", "pipe"],
        ["validate-data", "--reference", "pipe"],
        ["profile", "data/reference.csv", "-o", "p.mprof", "--contract", "pipe"],
    ],
    ids=["contract-check", "contract", "reference", "profile-contract"],
)
def test_a_fifo_is_refused_not_waited_on(args: list[str], project: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    os.mkfifo(project / "pipe")
    # a separate process: reading a FIFO nobody writes to would hang this one for good
    done = subprocess.run(
        [sys.executable, "-m", "modelci", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("modelci: error: pipe")
    assert "FIFO" in done.stderr or "neither a regular file nor a folder" in done.stderr
    assert done.stderr.strip().count("\n") == 0


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ("min: 1" + "0" * 400, "columns.mean_radius.min"),
        ("allowed: [1" + "0" * 400 + "]", "columns.mean_radius.allowed[0]"),
    ],
)
def test_huge_numbers_in_a_contract_exit_2_naming_the_key(
    rule: str, key: str, run_cli: CliRunner, project: Path
) -> None:
    text = (project / "contract.yaml").read_text()
    old = "mean_radius: {dtype: float, nullable: false, min: 0, max: 56}"
    assert old in text
    (project / "big.yaml").write_text(
        text.replace(old, f"mean_radius: {{dtype: float, nullable: false, {rule}}}")
    )
    for args in (["contract", "check", "big.yaml"], ["validate-data", "--contract", "big.yaml"]):
        res = run_cli(*args)
        assert res.code == 2, res.err
        assert f"{key}: a 401-digit number is out of range" in res.err
        assert len(res.err) < 300


def test_huge_row_bounds_exit_2(run_cli: CliRunner, project: Path) -> None:
    text = (project / "contract.yaml").read_text()
    (project / "big.yaml").write_text(text.replace("max: 1000000}", "max: 1" + "0" * 400 + "}"))
    res = run_cli("validate-data", "--contract", "big.yaml")
    assert res.code == 2
    assert "table.rows.max: 1000" in res.err and "must be <= 9223372036854775807" in res.err
    assert len(res.err) < 300


def test_a_regex_re2_cannot_run_exits_2_naming_construct_and_column(
    run_cli: CliRunner, project: Path
) -> None:
    text = (project / "contract.yaml").read_text()
    old = "diagnosis: {dtype: string, nullable: false, allowed: [benign, malignant]}"
    (project / "re.yaml").write_text(
        text.replace(old, "diagnosis: {dtype: string, regex: '(a+)+(?!x)'}")
    )
    res = run_cli("validate-data", "--contract", "re.yaml")
    assert res.code == 2
    assert "columns.diagnosis.regex: column 'diagnosis': RE2 cannot run this pattern" in res.err
    assert "(invalid perl operator: (?!)" in res.err
