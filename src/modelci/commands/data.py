"""`modelci contract infer|check` and `modelci profile`: the helpers around validate-data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from modelci.app import App
from modelci.inputs import click_params, overrides
from modelci.steps.validate_data import SPEC as VALIDATE

#: how a data file is read: the same declarations as validate-data's flags
READING = tuple(i for i in VALIDATE.inputs if i.name in ("format", "delimiter", "encoding"))


def _data_flags(fmt: str | None, delimiter: str | None, encoding: str | None) -> dict[str, Any]:
    """Config overrides of the reading flags, named by their flags for errors."""
    return overrides(READING, {"format": fmt, "delimiter": delimiter, "encoding": encoding})


@click.group("contract")
def contract_group() -> None:
    """Write or check a data contract."""


@contract_group.command("infer")
@click.argument("data")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the contract (YAML).",
)
@click.option(
    "--max-categories",
    default=20,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="String columns with at most this many values get an allowed list.",
)
@click.option(
    "--target", default=None, help="Label column, marked role: target [default: data.target]."
)
@click.option("--rows", is_flag=True, help="Bound the row count to half..twice the reference's.")
@click.option("--exact-bounds", is_flag=True, help="Keep the observed min/max, not widened.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.pass_obj
def contract_infer(
    app: App,
    data: str,
    output: Path,
    max_categories: int,
    target: str | None,
    rows: bool,
    exact_bounds: bool,
    force: bool,
    format: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> None:
    """Write a starting contract inferred from reference DATA; review it before relying on it."""
    config = app.load_config(
        {
            "data.target@--target": target,
            **_data_flags(format, delimiter, encoding),
        }
    )
    from modelci.contract.infer import infer_contract, refuse_overwrite, write_contract
    from modelci.data.configured import read_configured
    from modelci.errors import DataError

    if not force:
        refuse_overwrite(output)  # before the data is read: a refusal should be quick
    dataset = read_configured(config, data)
    label: str | None = config.get("data.target")
    if label is not None and label not in dataset.columns:
        raise DataError(
            data,
            f"no target column {label!r} ({config.where('data.target')}); columns: "
            + ", ".join(dataset.columns[:20])
            + (", ..." if len(dataset.columns) > 20 else ""),
        )
    contract = infer_contract(
        dataset.table,
        max_categories=max_categories,
        target=label,
        rows=rows,
        exact_bounds=exact_bounds,
    )
    write_contract(
        contract,
        output,
        header=f"Inferred by modelci from {data} ({dataset.rows} rows, {dataset.digest}).\n"
        "Review every rule before relying on it.",
        overwrite=force,
    )
    click.echo(f"{output}: contract for {len(dataset.columns)} columns inferred from {data}")


@contract_group.command("check")
@click.argument("contract", type=click.Path(path_type=Path, dir_okay=False))
def contract_check(contract: Path) -> None:
    """Check that CONTRACT parses and is consistent (exit 2 names the bad key)."""
    from modelci.contract.model import load_contract

    loaded = load_contract(contract)
    click.echo(f"{contract}: valid ({len(loaded.columns)} columns)")


@click.command("profile")
@click.argument("reference")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the profile.",
)
@click.option("--contract", help="Contract giving each column's kind (numeric or categorical).")
@click.pass_obj
def profile_cmd(
    app: App,
    reference: str,
    output: Path,
    contract: str | None,
    format: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> None:
    """Compute the drift statistics of REFERENCE once and save them for later runs."""
    config = app.load_config(
        {
            "contract@--contract": contract,
            **_data_flags(format, delimiter, encoding),
        }
    )
    from modelci.data.configured import read_configured
    from modelci.drift.profile import build_profile, save_profile

    kinds = None
    if contract_path := config.path("contract"):
        from modelci.contract.model import column_kinds, load_contract

        kinds = column_kinds(load_contract(contract_path))
    dataset = read_configured(config, reference)
    profile = build_profile(dataset.table, kinds=kinds, source=reference, digest=dataset.digest)
    save_profile(profile, output)
    click.echo(f"{output}: profile of {len(profile.columns)} columns from {reference}")


# The data-reading flags of validate-data, declared once (format, delimiter, encoding).
for _command in (contract_infer, profile_cmd):
    _command.params.extend(click_params(READING))
