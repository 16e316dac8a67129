"""`modelci promote`: move the production alias to the approved candidate, or roll back."""

from __future__ import annotations

import click

from modelci.app import App


@click.command("promote")
@click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    default=None,
    help="Roll back: put this registered version behind the alias (no compare needed).",
)
@click.option("--dry-run", is_flag=True, help="Show the change without making it.")
@click.option("--model-name", help="Registered model name [default: registry.model_name].")
@click.option("--alias", help="Alias that marks production [default: champion].")
@click.pass_obj
def promote_cmd(
    app: App, version: int | None, dry_run: bool, model_name: str | None, alias: str | None
) -> None:
    """Point the production alias at the candidate version once `compare` has passed
    (`--version N` rolls back to version N). Records who, what, when as version tags.

    Exit 0 when the alias moved (or would, with --dry-run), 1 when compare did not pass.
    """
    config = app.load_config(
        {"registry.model_name@--model": model_name, "registry.alias@--alias": alias}
    )
    from modelci.steps import promote

    result = promote.run(
        config,
        app.runfolder(config),
        version=None if version is None else str(version),
        dry_run=dry_run,
        env=app.env,
    )
    app.finish(result)
