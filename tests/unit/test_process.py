"""The console entry point: the process exits with the command's code, as any Python program
does (the interpreter's own exit, no shortcuts), with the objects it made frozen out of the
collector's last walks."""

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


def test_the_process_exits_with_its_objects_frozen_and_atexit_handlers_run(tmp_path: Path) -> None:
    # A handler registered before the command runs at exit, after main() froze the objects:
    # it sees them frozen, and it still runs.
    script = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 1000, flush=True))\n"
        "sys.argv = ['modelci', '--workdir', sys.argv[1], 'train']\n"
        "from modelci.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2  # the command's own code, untouched
    assert done.stdout.strip().splitlines()[-1] == "frozen True"
    assert done.stderr.startswith("modelci: error: nothing to train")


def test_the_scanner_imports_with_the_collector_paused_and_restores_it() -> None:
    import gc

    from modelci.process import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
