"""The console entry point: the process exits with the command's code, as any Python program
does (the interpreter's own exit, no shortcuts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_cli_entry_point_exits_with_the_commands_code(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "modelci", "--version"], capture_output=True,
                        text=True, timeout=60)  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.startswith("modelci")
    bad = subprocess.run([sys.executable, "-m", "modelci", "--workdir", str(tmp_path), "train"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("modelci: error: nothing to train")


def test_the_scanner_imports_with_the_collector_paused_and_restores_it() -> None:
    import gc

    from modelci.process import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
