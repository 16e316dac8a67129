"""The step commands, made from the step table: flags from each step's input declarations."""

from __future__ import annotations

from typing import Any

import click

from modelci.app import App
from modelci.inputs import click_params, overrides
from modelci.step import StepSpec


def step_command(spec: StepSpec) -> click.Command:
    """``modelci <step>``: parse the step's flags, run it and its tail, exit by its verdict."""

    def callback(**values: Any) -> None:
        app: App = click.get_current_context().find_object(App) or App()
        app.run_step(spec, overrides(spec.inputs, values))

    return click.Command(
        spec.name,
        params=click_params(spec.inputs),
        callback=callback,
        help=spec.help,
        short_help=spec.summary,
    )
