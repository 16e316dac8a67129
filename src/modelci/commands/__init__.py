"""The command line's commands: one per step, made from the step table, and the helpers
(pipeline, contract, profile)."""

from __future__ import annotations

import click

from modelci.commands.data import contract_group, profile_cmd
from modelci.commands.pipeline import pipeline_cmd
from modelci.commands.steps import step_command
from modelci.steps import STEPS

COMMANDS: list[click.Command] = [
    pipeline_cmd,
    *(step_command(spec) for spec in STEPS.values()),
    contract_group,
    profile_cmd,
]
