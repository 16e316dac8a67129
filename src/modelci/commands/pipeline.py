"""`modelci pipeline`: the main job, every pipeline step on one project."""

from __future__ import annotations

import os
from pathlib import Path

import click

from modelci.app import App
from modelci.errors import ConfigError, GateFailed


@click.command("pipeline")
@click.argument("project", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--steps", help="Comma-separated steps to run, in pipeline order [default: all].")
@click.pass_obj
def pipeline_cmd(app: App, project: Path | None, steps: str | None) -> None:
    """Run the pipeline on PROJECT (a folder with modelci.yaml; default: here).

    Steps run in order in one run folder, each exactly as when run alone (reports, manifest
    entry, CI outputs, PR/MR comment), and the pipeline stops at the first failed gate.
    """
    from modelci.ci.base import verdict_line
    from modelci.step import Context, pipeline_steps, run_pipeline

    if project is not None and app.config_file is None:
        candidate = project / "modelci.yaml"
        if not candidate.is_file():
            raise ConfigError(f"{candidate}: no such file; PROJECT must hold a modelci.yaml")
        app.config_file = candidate
    chosen = pipeline_steps(steps)
    ctx = Context.of(app.load_config(), app.env)
    outcome = run_pipeline(ctx, chosen, explicit=steps is not None, verbose=app.verbose)
    click.echo("")
    ran = {result.step: result for result in outcome.results}
    for name in chosen:  # in pipeline order, a skipped step where it would have run
        if name in outcome.skipped:
            click.echo(f"SKIP  {name}: {outcome.skipped[name]}")
        elif name in ran and ran[name].passed:
            click.echo(f"PASS  {verdict_line(ran[name])}")
    click.echo(f"run folder: {os.path.relpath(ctx.runfolder.path)}")
    failed = [r for r in outcome.results if not r.passed]
    if failed:
        # the failed step's verdict is printed once, as the error line
        raise GateFailed(verdict_line(failed[0]))
