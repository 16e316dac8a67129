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


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--debug", "validate-data"), {}),
        (("validate-data", "--debug"), {}),
        (("validate-data",), {"MODELCI_DEBUG": "1"}),
        (("validate-data",), {"MODELCI_DEBUG": "true"}),
    ],
)
def test_debug_adds_the_traceback_and_keeps_the_exit_code(
    run_cli: CliRunner, in_tmp: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    plain = run_cli("validate-data")
    assert plain.code == 2 and "Traceback" not in plain.err

    res = run_cli(*args, env=env)

    assert res.code == 2, res.err  # an input error, with or without the traceback
    assert "Traceback (most recent call last)" in res.err
    assert "InputError" in res.err
    assert res.err.rstrip().splitlines()[-1] == plain.err.strip()


def test_debug_keeps_a_gate_failure_at_1(run_cli: CliRunner, in_tmp: Path) -> None:
    (in_tmp / "d.csv").write_text("a\n5\n")
    (in_tmp / "c.yaml").write_text("version: 1\ncolumns:\n  a: {dtype: integer, max: 1}\n")
    for args in (("validate-data", "d.csv", "--contract", "c.yaml"),
                 ("validate-data", "d.csv", "--contract", "c.yaml", "--debug")):  # fmt: skip
        assert run_cli(*args).code == 1


def test_modelci_debug_zero_is_off(run_cli: CliRunner, in_tmp: Path) -> None:
    res = run_cli("validate-data", env={"MODELCI_DEBUG": "0"})
    assert res.code == 2 and "Traceback" not in res.err


def test_debug_exit_code_of_the_installed_command(tmp_path: Path) -> None:
    # What a CI job sees: the process's exit code, not run()'s return value.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELCI_")}
    for extra in ([], ["--debug"]):
        done = subprocess.run(
            [sys.executable, "-m", "modelci", "validate-data", *extra],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert ("Traceback" in done.stderr) == bool(extra)


@pytest.mark.parametrize(
    "args",
    [
        ("config", "show", "--workdir", "elsewhere"),
        ("--workdir", "elsewhere", "config", "show"),
        ("config", "--workdir", "elsewhere", "show"),
    ],
)
def test_global_options_before_or_after_the_command(
    run_cli: CliRunner, in_tmp: Path, args: tuple[str, ...]
) -> None:
    res = run_cli(*args)
    assert res.code == 0, res.err
    assert "workdir: elsewhere" in res.out
    assert "workdir: --workdir" in res.out


def test_config_after_a_step_command(run_cli: CliRunner, in_tmp: Path) -> None:
    (in_tmp / "sub").mkdir()
    (in_tmp / "sub" / "d.csv").write_text("a\n1\n")
    (in_tmp / "sub" / "c.yaml").write_text("version: 1\ncolumns:\n  a: {dtype: integer}\n")
    (in_tmp / "sub" / "project.yaml").write_text("data: {path: d.csv}\ncontract: c.yaml\n")
    res = run_cli("validate-data", "--config", "sub/project.yaml", "--workdir", "run")
    assert res.code == 0, res.err
    assert (in_tmp / "run" / "validate-data" / "report.json").is_file()
    res = run_cli("contract", "check", "sub/c.yaml", "--debug", "-v")
    assert res.code == 0, res.err


def test_every_command_takes_the_global_options() -> None:
    import click

    from modelci.cli import cli

    def walk(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
        found = [(path, command)]
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                found += walk(sub, f"{path} {name}")
        return found

    for path, command in walk(cli, "modelci"):
        opts = {opt for param in command.params for opt in param.opts}
        assert {"--config", "--workdir", "--debug", "-v", "--verbose"} <= opts, path


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


def test_a_missing_extra_is_one_line_naming_what_to_install(tmp_path: Path) -> None:
    # the core install (`pip install modelci`) has no ML stack: numpy is missing
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "c.yaml").write_text("version: 1\ncolumns:\n  a: {dtype: integer}\n")
    code = (
        "import sys; sys.modules['numpy'] = None; sys.modules['pyarrow'] = None\n"
        "from modelci.cli import run\n"
        "sys.exit(run(['validate-data', 'd.csv', '--contract', 'c.yaml']))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELCI_")}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "pip install 'modelci[data]'" in done.stderr
