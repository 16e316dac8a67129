"""`modelci compare`: gate the candidate model against the one in production."""

from __future__ import annotations

import click

from modelci.app import App
from modelci.errors import InfraError


@click.command("compare")
@click.option("--candidate", help="Candidate model URI or folder [default: the model from train].")
@click.option(
    "--production",
    help="Production model URI [default: registry.model_name at registry.alias].",
)
@click.option("--data", help="Evaluation set (CSV or Parquet) [default: train's holdout].")
@click.option(
    "--confidence",
    type=float,
    default=None,
    help="Confidence level of the intervals [default: 0.95].",
)
@click.option("--resamples", type=int, default=None, help="Bootstrap resamples [default: 2000].")
@click.option("--seed", type=int, default=None, help="Bootstrap seed [default: 0].")
@click.option(
    "--no-production",
    "no_production",
    type=click.Choice(["pass", "fail"]),
    default=None,
    help="Decision when no production model exists yet [default: pass].",
)
@click.option(
    "--comment",
    type=click.Choice(["auto", "never"]),
    default=None,
    help="Post or update the pull/merge request comment [default: auto].",
)
@click.pass_obj
def compare_cmd(
    app: App,
    candidate: str | None,
    production: str | None,
    data: str | None,
    confidence: float | None,
    resamples: int | None,
    seed: int | None,
    no_production: str | None,
    comment: str | None,
) -> None:
    """Evaluate the candidate and the production model on the same rows and decide, with
    a paired bootstrap (and McNemar's test), whether the candidate may replace it.

    Exit 0 when every rule passes, 1 when the candidate is worse, 2 on bad input.
    """
    config = app.load_config(
        {
            "compare.candidate@--candidate": candidate,
            "compare.production@--production": production,
            "compare.data@--data": data,
            "compare.confidence@--confidence": confidence,
            "compare.resamples@--resamples": resamples,
            "compare.seed@--seed": seed,
            "compare.no_production@--no-production": no_production,
            "compare.comment@--comment": comment,
        }
    )
    from modelci.steps import compare

    result = compare.run(config, app.runfolder(config), app.env)
    comment_error: InfraError | None = None
    if config.get("compare.comment", "auto") == "auto":
        from modelci.comparing.comment import publish

        try:
            click.echo(f"modelci compare: {publish(result.markdown, app.env)}")
        except InfraError as exc:
            # The verdict is published first; an unreachable API then still fails the job.
            comment_error = exc
            click.echo(f"modelci compare: {exc}", err=True)
    app.finish(result)
    if comment_error is not None:
        raise comment_error
