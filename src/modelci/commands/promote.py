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
    help="Roll back: put this version behind the alias; it must have served there before "
    "or passed compare (else --force --reason).",
)
@click.option("--dry-run", is_flag=True, default=None, help="Show the change without making it.")
@click.option("--force", is_flag=True, default=None, help="With --version: move the alias anyway.")
@click.option("--reason", help="Why a version is forced (recorded on it with who forced it).")
@click.option("--model-name", help="Registered model name [default: registry.model_name].")
@click.option("--alias", help="Alias that marks production [default: champion].")
@click.pass_obj
def promote_cmd(
    app: App,
    version: int | None,
    dry_run: bool | None,
    force: bool | None,
    reason: str | None,
    model_name: str | None,
    alias: str | None,
) -> None:
    """Point the production alias at the candidate version once `compare` has passed
    (`--version N` rolls back to version N). Records who, what, when as version tags.

    Exit 0 when the alias moved (or would, with --dry-run), 1 when the evidence does not
    allow it.
    """
    config = app.load_config(
        {
            "registry.model_name@--model-name": model_name,
            "registry.alias@--alias": alias,
            "promote.version@--version": version,
            "promote.dry_run@--dry-run": dry_run,
            "promote.force@--force": force,
            "promote.reason@--reason": reason,
        }
    )
    from modelci.steps import promote

    app.finish(promote.run(config, app.runfolder(config), env=app.env))
