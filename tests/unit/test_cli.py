from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CliRunner


def test_help_and_version(run_cli: CliRunner) -> None:
    res = run_cli("--help")
    assert res.code == 0
    assert "validate-data" in res.out
    res = run_cli("--version")
    assert res.code == 0 and "modelci, version" in res.out


def test_help_does_not_import_heavy_libraries() -> None:
    # `modelci --help` and a failing config check must answer at once.
    code = (
        "import sys; from modelci.cli import run; run(['--help']); "
        "heavy = ('pandas', 'pyarrow', 'sklearn', 'mlflow', 'scipy'); "
        "heavy = [m for m in heavy if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "modelci", "--version"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and "0." in out.stdout


def test_usage_error_exits_2_with_one_line(run_cli: CliRunner, in_tmp: Path) -> None:
    res = run_cli("validate-data")
    assert res.code == 2
    assert res.err.strip().count("\n") == 0
    assert res.err.startswith("modelci: error: no dataset to validate")
    assert "Traceback" not in res.err


def test_unknown_option_exits_2(run_cli: CliRunner) -> None:
    res = run_cli("validate-data", "--nope")
    assert res.code == 2
    assert "No such option" in res.err


def test_debug_shows_the_traceback(run_cli: CliRunner, in_tmp: Path) -> None:
    from modelci.errors import InputError

    with pytest.raises(InputError):
        run_cli("--debug", "validate-data")


def test_schema_prints_the_json_schema(run_cli: CliRunner) -> None:
    res = run_cli("schema")
    assert res.code == 0
    data = json.loads(res.out)
    assert data["title"].startswith("modelci project file")
    assert {"data", "contract", "validate", "registry"} <= set(data["properties"])


def test_config_check(run_cli: CliRunner, in_tmp: Path) -> None:
    (in_tmp / "modelci.yaml").write_text("data:\n  path: d.csv\n")
    res = run_cli("config", "check")
    assert res.code == 0 and "modelci.yaml: valid" in res.out
    (in_tmp / "bad.yaml").write_text("validate:\n  drift:\n    bins: 1\n")
    res = run_cli("config", "check", "bad.yaml")
    assert res.code == 2
    assert res.err.strip() == (
        "modelci: error: bad.yaml: validate.drift.bins: 1 is less than the minimum of 2"
    )


def test_config_show_names_sources(run_cli: CliRunner, in_tmp: Path) -> None:
    (in_tmp / "modelci.yaml").write_text("data:\n  path: d.csv\n")
    res = run_cli("config", "show", env={"MODELCI_DATA__TARGET": "y"})
    assert res.code == 0
    assert "#   data.path: modelci.yaml" in res.out
    assert "#   data.target: MODELCI_DATA__TARGET" in res.out


def test_pipeline_rejects_unknown_step(run_cli: CliRunner, in_tmp: Path) -> None:
    (in_tmp / "modelci.yaml").write_text("data:\n  path: d.csv\n")
    res = run_cli("pipeline", "--steps", "validate-data,deploy")
    assert res.code == 2
    assert "--steps: unknown step 'deploy'" in res.err


def test_pipeline_needs_a_project_file(run_cli: CliRunner, in_tmp: Path) -> None:
    res = run_cli("pipeline", str(in_tmp))
    assert res.code == 2
    assert "modelci.yaml: no such file" in res.err


def test_mlflow_telemetry_is_off_unless_the_user_chose() -> None:
    code = (
        "import os, sys; from modelci.cli import run; run(['--version']); "
        "print(os.environ.get('MLFLOW_DISABLE_TELEMETRY'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_DISABLE_TELEMETRY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "true"
    env["MLFLOW_DISABLE_TELEMETRY"] = "false"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "false"
