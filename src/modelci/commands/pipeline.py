"""`modelci pipeline`: the main job, every available step on one project."""

from __future__ import annotations

import os
from pathlib import Path

import click

from modelci.app import App
from modelci.errors import ConfigError, GateFailed


@click.command("pipeline")
@click.argument("project", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--steps",
    help="Comma-separated steps to run, in pipeline order [default: all available].",
)
@click.pass_obj
def pipeline_cmd(app: App, project: Path | None, steps: str | None) -> None:
    """Run the whole pipeline on PROJECT (a folder with modelci.yaml; default: here).

    Steps run in order in one run folder and stop at the first failed gate; steps not in this
    version of modelci are listed as not available yet.
    """
    from modelci import pipeline
    from modelci.ci import detect

    if project is not None and app.config_file is None:
        candidate = project / "modelci.yaml"
        if not candidate.is_file():
            raise ConfigError(f"{candidate}: no such file; PROJECT must hold a modelci.yaml")
        app.config_file = candidate
    selected = pipeline.STEPS
    if steps:
        wanted = tuple(s.strip() for s in steps.split(",") if s.strip())
        unknown = [s for s in wanted if s not in pipeline.STEPS]
        if unknown:
            raise ConfigError(
                f"unknown step {', '.join(unknown)}; steps are {', '.join(pipeline.STEPS)}",
                source="--steps",
            )
        selected = tuple(s for s in pipeline.STEPS if s in wanted)
    config = app.load_config()
    runfolder = app.runfolder(config)
    adapter = detect(app.env)
    outcome = pipeline.run(config, runfolder, steps=selected, publish=adapter.publish)
    click.echo("")
    for result in outcome.results:
        # Most summaries already begin with the step's name ("train passed: ...").
        line = result.summary
        if not line.startswith(f"{result.step} "):
            line = f"{result.step}: {line}"
        click.echo(f"{'PASS' if result.passed else 'FAIL'}  {line}")
    for step in outcome.skipped:
        click.echo(f"----  {step}: not available in modelci {_version()} yet")
    click.echo(f"run folder: {os.path.relpath(runfolder.path)}")
    failed = [r for r in outcome.results if not r.passed]
    if failed:
        raise GateFailed(failed[0].summary)


def _version() -> str:
    from modelci import __version__

    return __version__
