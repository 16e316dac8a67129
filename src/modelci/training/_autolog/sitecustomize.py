"""Put on PYTHONPATH by ``modelci train`` for the user's training command: turns on MLflow
autologging in that command's Python process, so an unchanged training script logs its
parameters, metrics and model into the run modelci started (MLFLOW_RUN_ID).

It acts once: the variable that asks for it is removed, so Python processes the script
starts in turn (pip, workers) do not import MLflow. Afterwards it hands over to any
``sitecustomize`` module of the environment that this one shadows.
"""

from __future__ import annotations

import importlib.util
import os
import sys


def _autolog() -> None:
    if os.environ.pop("MODELCI_AUTOLOG", "") != "1":
        return
    try:
        import mlflow

        mlflow.autolog(silent=True)
    except Exception as exc:  # never break the user's script over autologging
        sys.stderr.write(f"modelci: autologging not enabled: {exc}\n")


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = None
    for entry in rest:
        candidate = os.path.join(entry or ".", "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_chained_sitecustomize", candidate)
            break
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_autolog()
_chain()
