"""One click command per step; each only parses flags and calls its step's ``run``."""

from __future__ import annotations

import click

from modelci.commands.compare import compare_cmd
from modelci.commands.pipeline import pipeline_cmd
from modelci.commands.promote import promote_cmd
from modelci.commands.train import train_cmd
from modelci.commands.validate_data import contract_group, profile_cmd, validate_data_cmd

COMMANDS: list[click.Command] = [
    pipeline_cmd,
    validate_data_cmd,
    contract_group,
    profile_cmd,
    train_cmd,
    compare_cmd,
    promote_cmd,
]
