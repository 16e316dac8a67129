"""`leave`: a fast exit that still does everything a normal exit does that anyone can see."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import atexit, concurrent.futures, sys, threading, time
    from modelci.process import leave

    atexit.register(lambda: print("atexit ran", flush=True))
    def slow():
        time.sleep(0.3)
        print("thread finished", flush=True)
    threading.Thread(target=slow).start()
    pool = concurrent.futures.ThreadPoolExecutor(1)
    pool.submit(lambda: (time.sleep(0.3), print("pool task finished", flush=True)))
    sys.stdout.write("unflushed output")   # buffered: leave must flush it
    sys.stdout.write("\\n")
    leave(int(sys.argv[1]))
    print("never")
    """
)


def run(code: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, str(code)], capture_output=True, text=True, timeout=60
    )


def test_threads_are_joined_atexit_runs_and_output_is_flushed() -> None:
    done = run(0)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "unflushed output" in lines
    assert "thread finished" in lines and "pool task finished" in lines
    # atexit callbacks run after the threads were joined, as in a normal exit
    assert lines[-1] == "atexit ran"
    assert "never" not in done.stdout
    assert done.stderr == ""


def test_the_exit_code_is_kept() -> None:
    assert run(3).returncode == 3


def test_the_cli_entry_point_exits_with_the_commands_code(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "modelci", "--version"], capture_output=True,
                        text=True, timeout=60)  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.startswith("modelci")
    bad = subprocess.run([sys.executable, "-m", "modelci", "--workdir", str(tmp_path), "train"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("modelci: error: nothing to train")
