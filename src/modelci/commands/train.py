"""`modelci train`."""

from __future__ import annotations

import json

import click

from modelci.app import App


def _json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON ({exc.msg}); e.g. '{{\"max_iter\": 200}}'") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object of parameter: value")
    return parsed


@click.command("train")
@click.argument("data", required=False)
@click.option("--target", help="Label column [data.target].")
@click.option("--estimator", help="Estimator import path: sklearn.tree.DecisionTreeClassifier.")
@click.option("--params", callback=_json_object, help="Estimator parameters as a JSON object.")
@click.option("--command", "command", help="Your own training command, e.g. 'python train.py'.")
@click.option("--contract", help="Data contract giving each column's kind.")
@click.option("--test-data", help="Explicit test file (no split is made).")
@click.option("--test-size", type=float, help="Share of rows held out [default: 0.2].")
@click.option("--seed", type=int, help="Seed of split, folds and estimator [default: 42].")
@click.option("--cv-folds", type=int, help="k-fold cross-validation on the training rows.")
@click.option("--task", type=click.Choice(["auto", "classification", "regression"]))
@click.option("--model-name", help="Registered model name [registry.model_name].")
@click.option("--tracking-uri", help="MLflow tracking URI [registry.tracking_uri].")
@click.option("--experiment", help="MLflow experiment [default: the model name].")
@click.pass_obj
def train_cmd(
    app: App,
    data: str | None,
    target: str | None,
    estimator: str | None,
    params: dict[str, object] | None,
    command: str | None,
    contract: str | None,
    test_data: str | None,
    test_size: float | None,
    seed: int | None,
    cv_folds: int | None,
    task: str | None,
    model_name: str | None,
    tracking_uri: str | None,
    experiment: str | None,
) -> None:
    """Train on DATA, track the run in MLflow and register a new model version.

    Without MLFLOW_TRACKING_URI or --tracking-uri, runs are tracked in a sqlite store in
    the run folder. Exit 0 when the model is registered, 2 on bad input, 3 when the
    tracking server stays unreachable.
    """
    config = app.load_config(
        {
            "data.path@DATA": data,
            "data.target@--target": target,
            "train.estimator@--estimator": estimator,
            "train.params@--params": params,
            "train.command@--command": command,
            "contract@--contract": contract,
            "train.split.test_path@--test-data": test_data,
            "train.split.test_size@--test-size": test_size,
            "train.seed@--seed": seed,
            "train.cv.folds@--cv": cv_folds,
            "train.task@--task": task,
            "registry.model_name@--model-name": model_name,
            "registry.tracking_uri@--tracking-uri": tracking_uri,
            "train.experiment@--experiment": experiment,
        }
    )
    from modelci.steps import train

    app.finish(train.run(config, app.runfolder(config)))
