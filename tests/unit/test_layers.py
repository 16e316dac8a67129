"""What the core needs: configuration, manifest and command line import no ML stack, so a
verify job before a deploy need not install MLflow, scikit-learn or SciPy."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "sklearn", "mlflow", "matplotlib", "skops")

PROBE = """
import sys
from modelci.cli import run
codes = [run(["--help"]), run(["config", "check", sys.argv[1]]), run(["schema", "--manifest"])]
import modelci, modelci.steps, modelci.generate
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(",")))
print("LOADED", ",".join(loaded), codes)
"""


def test_the_core_imports_no_ml_stack(tmp_path: object) -> None:
    from pathlib import Path

    project = Path(str(tmp_path)) / "modelci.yaml"
    project.write_text("version: 1\ndata: {path: d.csv}\n")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(project), ",".join(HEAVY)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED"))
    assert line == "LOADED  [0, 0, 0]", done.stdout + done.stderr


MISSING = """
import sys
sys.modules["model_signing"] = None  # as if only `pip install modelci` had run
from modelci.cli import run
sys.exit(run(["verify", "--public-key", "key.pub", "--signature", "model.sig", "model"]))
"""


def test_a_step_whose_extra_is_missing_says_which_to_install(tmp_path: object) -> None:
    """A lean install reaching a step it left out gets one line naming the extra, exit 2."""
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "model").mkdir()
    (folder / "model" / "MLmodel").write_text("flavors: {}\n")
    (folder / "model.sig").write_text("{}")
    (folder / "key.pub").write_text("not read before the import\n")
    done = subprocess.run(
        [sys.executable, "-c", MISSING], cwd=folder, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "modelci: error: modelci verify needs modelci's sign extra "
        "(no module named 'model_signing'): pip install 'modelci[sign]'"
    ]


def test_the_command_line_skips_jsonschemas_format_grammars(tmp_path: object) -> None:
    """jsonschema[format] would compile rfc3987_syntax's grammars on every command (seconds):
    modelci checks no formats, so its command line never imports them."""
    from pathlib import Path

    project = Path(str(tmp_path)) / "modelci.yaml"
    project.write_text("version: 1\n")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "modelci", "config", "check", str(project)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| jsonschema" in done.stderr  # the import trace is there
    # the attempt is traced (it fails at once); the grammar library behind it never loads
    assert not [line for line in done.stderr.splitlines() if line.split("|")[-1].strip() == "lark"]
