"""Every command the docs show (``bash`` code blocks of README.md and docs/*.md) runs, in order,
from a scratch copy of the example project, and exits 0 (issue 10 §6).

Commands are taken from the files as they are: a command added to the docs fails this test until
it runs here or is listed in SKIPPED with the reason. What a command needs that the docs leave to
the reader is provided by the test and said so in PROVIDED (the team's own ``train.py`` of
command mode, the compare that promote's block starts after).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, REPO
from tests.unit.sign_support import write_key, write_public_key

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

#: commands not run here, and why
SKIPPED = {
    "bash .ci/install-and-test": "the whole suite (Debian packages, npm tools, lint, every "
    "test): this test is one of the tests it runs",
    "python3.11 -m venv .venv-bench-drift": "the drift benchmark: its own virtual environment "
    "with Evidently from the package index and minutes over a million rows; bench/ runs it",
    ".venv-bench-drift/bin/pip install -r bench/requirements-drift.txt": "the drift benchmark",
    ".venv-bench-drift/bin/pip install --no-deps -e .": "the drift benchmark",
    ".venv-bench-drift/bin/python bench/bench_drift.py --rows 1000000": "the drift benchmark",
    "modelci scan path/to/model.joblib": "a placeholder path; the line above it scans the "
    "trained model, tests/unit/test_scan_*.py scan single files",
    "modelci sign --private-key leaf.key --certificate leaf.pem --certificate-chain ca.pem": "a "
    "certificate of the team's own PKI; tests/unit/test_sign_model.py signs with a chain it makes",
    "modelci verify --certificate-chain ca.pem": "the certificate signature of the line above",
    "modelci sign --method keyless": "needs a CI job's OIDC token and Sigstore's public services "
    "(no network here)",
    "modelci verify --identity https://github.com/acme/models/.github/workflows/train.yml@refs/"
    "heads/main --issuer https://token.actions.githubusercontent.com": "the keyless signature of "
    "the line above",
    "modelci verify --public-key key.pub --provenance .modelci/provenance/provenance.sigstore.json"
    " --builder https://github.com/acme/models/.github/workflows/train-attest.yml@refs/tags/v1 "
    "--source https://github.com/acme/models": "checks a statement that workflow built on "
    "GitHub; a statement built here names this machine as its builder",
    # run by test_readme_setup_command, from a copy of the repository
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[all]' && .venv/bin/modelci pipeline "
    "examples/quickstart": "run from a copy of the repository by test_readme_setup_command",
}

#: the team's own training script of command mode (docs/train.md): modelci's MLflow run is
#: resumed and autologging logs the model
TRAIN_PY = """\
import argparse
import os

import pandas as pd
from sklearn.ensemble import RandomForestClassifier

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.parse_args()
frame = pd.read_csv(os.environ["MODELCI_DATA_PATH"])
target = frame.pop(os.environ["MODELCI_TARGET"])
RandomForestClassifier(random_state=42).fit(frame, target)
"""

#: what the test does before a file's commands, and why
PROVIDED = {
    "docs/train.md": "train.py: the team's own training script the command mode runs",
    "docs/promote.md": "`modelci compare`: promote acts on a comparison of the candidate train "
    "registered last",
    "docs/signing.md": "key.pem and key.pub: the team's key pair, its password the `...` the "
    "command shows",
}

#: the order the files' commands run in: each leaves the project as the next one expects
#: (train registers versions 1-3, promote moves the alias between them)
ORDER = [
    "README.md",
    "docs/validate-data.md",
    "docs/compare.md",
    "docs/train.md",
    "docs/promote.md",
    "docs/scan.md",
    "docs/signing.md",
    "docs/sbom.md",
    "docs/provenance.md",
]


@dataclass(frozen=True)
class Command:
    file: str
    line: int
    text: str


def doc_commands(path: Path) -> list[Command]:
    """The commands of the file's ``bash`` blocks, continuation lines joined."""
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(REPO).as_posix()
    found: list[Command] = []
    for block in re.finditer(r"```bash\n(.*?)```", text, re.S):
        first = text[: block.start()].count("\n") + 2
        pending = ""
        start = first
        for offset, raw in enumerate(block.group(1).splitlines()):
            line = raw.rstrip()
            if not pending:
                start = first + offset
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            command = (pending + line).strip()
            pending = ""
            if command and not command.startswith("#"):
                found.append(Command(name, start, command))
    return found


def _bare(command: str) -> str:
    """The command without its trailing comment, spaces squeezed."""
    return " ".join(re.sub(r"\s+#[^'\"]*$", "", command).split())


def _env(bin_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MODELCI_", "MLFLOW_", "GITHUB_", "GITLAB_", "CI_", "RUNNER_"))
    }
    env.pop("CI", None)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    return env


def _run(command: str, cwd: Path, env: dict[str, str], where: str) -> None:
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{where}: `{command}` exited {done.returncode}:\n{output}"
    assert "Traceback" not in output, f"{where}: `{command}`:\n{output}"


def test_every_documented_command_is_run_or_skipped_with_a_reason() -> None:
    for path in DOCS:
        for command in doc_commands(path):
            run_here = command.file in ORDER
            assert run_here or _bare(command.text) in SKIPPED, (
                f"{command.file}:{command.line}: `{command.text}` is neither run by "
                "test_documented_commands_run (ORDER) nor in SKIPPED with a reason"
            )
    assert all(reason for reason in SKIPPED.values())
    assert set(PROVIDED) <= set(ORDER)


@pytest.mark.slow
def test_documented_commands_run(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(EXAMPLE, project)
    env = _env(Path(sys.executable).parent)
    for name in ORDER:
        if name == "docs/train.md":
            (project / "train.py").write_text(TRAIN_PY)
        if name == "docs/promote.md":
            _run("modelci compare", project, env, f"{name} (provided)")
        if name == "docs/signing.md":
            key = write_key(project / "key.pem", password="...")
            write_public_key(project / "key.pub", key)
        for command in doc_commands(REPO / name):
            if _bare(command.text) in SKIPPED:
                continue
            _run(command.text, project, env, f"{command.file}:{command.line}")
    # the story the commands tell: versions 1-3 registered, the alias moved by hand at last
    manifest = (project / ".modelci" / "manifest.json").read_text()
    assert '"forced"' in manifest or "hotfix INC-42" in manifest


@pytest.mark.slow
def test_readme_setup_command(tmp_path: Path) -> None:
    """README's first command, as written, in a copy of the repository: a fresh virtual
    environment with every extra, then the whole pipeline on the bundled example."""
    repo = tmp_path / "modelci"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".modelci", "*.pyc")
    for part in ("pyproject.toml", "README.md", "src", "examples"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, repo / part, ignore=ignore)
        else:
            shutil.copy2(source, repo / part)
    [setup] = [c for c in doc_commands(REPO / "README.md") if "pip install" in c.text]
    env = _env(Path("/nonexistent"))
    done = subprocess.run(["bash", "-c", setup.text], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=900, check=False)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize("step", ["validate-data", "train", "compare", "promote"])
def test_flag_tables_name_real_flags_and_variables(step: str) -> None:
    """A step page's table of flags (`| --flag | key | MODELCI_VAR |`) names the command's
    real flags, and each row's variable is the one of its setting (train.md said `--cv`)."""
    from modelci.cli import cli
    from modelci.config import env_name

    command = cli.commands[step]
    flags = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    text = (REPO / "docs" / f"{step}.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(--[a-z-]+)[^|]*\| `([a-z_.]+)[^|]*\| `(MODELCI_[A-Z_]+)` \|$", text,
                      re.M)  # fmt: skip
    assert rows, f"no flag table in docs/{step}.md"
    for flag, key, variable in rows:
        assert flag in flags, f"docs/{step}.md: {flag} is not a flag of modelci {step}"
        assert variable == env_name(key), f"docs/{step}.md: {flag}: {variable} is not {key}'s"
