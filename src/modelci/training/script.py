"""The team's own training command, run inside the MLflow run modelci started.

The command is split with ``shlex`` and started without a shell. It inherits the
environment plus:

- ``MLFLOW_TRACKING_URI``, ``MLFLOW_RUN_ID``, ``MLFLOW_EXPERIMENT_ID``: ``mlflow.start_run()``
  in the script resumes modelci's run instead of starting another; ``MLFLOW_REGISTRY_URI``:
  the same store;
- ``MODELCI_RUN_FOLDER`` (absolute run folder), ``MODELCI_RUN_ID`` (the MLflow run id),
  ``MODELCI_DATA_PATH`` and ``MODELCI_TARGET`` when configured;
- autologging: a ``sitecustomize`` module on ``PYTHONPATH`` calls ``mlflow.autolog()`` in
  the command's Python process, so an unchanged script logs its model.

Its output is streamed as it comes; the last lines are kept for the error message. The
command runs in a process group of its own: when the step stops early (``train.timeout``,
Ctrl-C, SIGTERM) the whole group is terminated, whatever the command started in turn.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from modelci.errors import InputError

AUTOLOG_DIR = Path(__file__).resolve().parent / "_autolog"
#: seconds a stopped command's process group gets to exit after SIGTERM, before SIGKILL
GRACE_SECONDS = 10.0


def child_env(
    base: Mapping[str, str],
    *,
    tracking_uri: str,
    run_id: str,
    experiment_id: str,
    run_folder: Path,
    autolog: bool,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = dict(base)
    env.update(
        {
            "MLFLOW_TRACKING_URI": tracking_uri,
            # the step registers in the same store; the script's own registrations go there too
            "MLFLOW_REGISTRY_URI": tracking_uri,
            "MLFLOW_RUN_ID": run_id,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
            "MODELCI_RUN_FOLDER": str(run_folder.resolve()),
            "MODELCI_RUN_ID": run_id,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("MLFLOW_EXPERIMENT_NAME", None)  # would contradict MLFLOW_EXPERIMENT_ID
    env.update(extra or {})
    if autolog:
        env["MODELCI_AUTOLOG"] = "1"
        paths = [str(AUTOLOG_DIR), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_command(
    command: str,
    env: Mapping[str, str],
    cwd: Path,
    *,
    where: str = "train.command",
    out: TextIO | None = None,
) -> None:
    """Run ``command``; InputError with its exit code and last output line when it fails."""
    stream = out or sys.stdout
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise InputError(f"{where}: cannot parse {command!r} ({exc}); check the quoting") from None
    if not argv:
        raise InputError(f"{where}: the command is empty")
    tail: collections.deque[str] = collections.deque(maxlen=20)
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            process_group=0,
        )
    except OSError as exc:
        raise InputError(
            f"{where}: cannot start {argv[0]!r} ({exc.strerror}); check the command"
        ) from None
    assert process.stdout is not None
    with process:
        try:
            for line in process.stdout:
                stream.write(line)
                stream.flush()
                if line.strip():
                    tail.append(line.rstrip())
            code = process.wait()
        except BaseException:
            stop_group(process)
            raise
    if code != 0:
        last = tail[-1] if tail else "no output"
        raise InputError(f"{where}: {command!r} exited with code {code}; last output: {last[:300]}")


def stop_group(process: subprocess.Popen[str], grace: float = GRACE_SECONDS) -> None:
    """Terminate the command's process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    # What the command started may outlive it: the group goes, whoever is left in it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
