"""compare without train: explicit model folders of a non-scikit-learn flavor and a CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from tests.conftest import CliRunner

pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning"
)


def _threshold_model(folder: Path, frame: pd.DataFrame, column: str, cut: float) -> None:
    """A pyfunc model from code (no scikit-learn flavor, so labels only): benign when
    column < cut. From code, not a pickled object: a pickle of a Python class is
    unsafe to load and compare refuses it (tested below)."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    code = folder.parent / f"{folder.name}_model.py"
    code.write_text(
        "import mlflow.pyfunc\n"
        "from mlflow.models import set_model\n\n\n"
        "class Threshold(mlflow.pyfunc.PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        f"        return (model_input[{column!r}] < {cut!r}).astype('int64').to_numpy()\n\n\n"
        "set_model(Threshold())\n"
    )
    mlflow.pyfunc.save_model(
        str(folder), python_model=str(code), signature=infer_signature(frame, frame.iloc[:, 0])
    )


_TRUST_CODE = "scan:\n  loaders: [mlflow.pyfunc.loaders.code_model]\n"


def test_pyfunc_folders_on_a_csv_without_a_train_step(in_tmp: Path, run_cli: CliRunner) -> None:
    frame, target = load_breast_cancer(return_X_y=True, as_frame=True)
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    _threshold_model(in_tmp / "good", frame, "worst_radius", 16.8)
    _threshold_model(in_tmp / "poor", frame, "mean_texture", 19.0)
    frame.assign(label=target).to_csv(in_tmp / "eval.csv", index=False)
    (in_tmp / "modelci.yaml").write_text("version: 1\ndata:\n  target: label\n")

    # a loader that runs shipped code is not trusted until the project says so
    untrusted = run_cli(
        "compare", "--candidate", "good", "--production", "poor", "--data", "eval.csv"
    )
    assert untrusted.code == 1
    assert "the candidate model is unsafe to load" in untrusted.err
    assert "mlflow.pyfunc.loaders.code_model" in untrusted.err
    assert not (in_tmp / ".modelci" / "compare" / "decision.json").exists()

    (in_tmp / "modelci.yaml").write_text("version: 1\ndata:\n  target: label\n" + _TRUST_CODE)
    result = run_cli("compare", "--candidate", "good", "--production", "poor", "--data", "eval.csv")
    assert result.code == 0, result.err

    decision = json.loads((in_tmp / ".modelci" / "compare" / "decision.json").read_text())
    assert decision["task"] == "classification"
    assert decision["rules"][0]["candidate"] > decision["rules"][0]["production"] + 0.1
    # labels only: no probability metrics in the table, no curves among the plots
    assert "roc_auc" not in decision["metrics"]["candidate"]
    plots = sorted(p.name for p in (in_tmp / ".modelci" / "compare" / "plots").iterdir())
    assert plots == ["confusion_matrix.png"]

    (in_tmp / "modelci.yaml").write_text(
        "version: 1\ndata:\n  target: label\ncompare:\n  rules:\n    roc_auc: {}\n" + _TRUST_CODE
    )
    refused = run_cli(
        "compare", "--candidate", "good", "--production", "poor", "--data", "eval.csv"
    )
    assert refused.code == 2
    assert "metric 'roc_auc' needs class probabilities, but the candidate model" in refused.err
