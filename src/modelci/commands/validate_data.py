"""`modelci validate-data`, `modelci contract infer|check` and `modelci profile`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from modelci.app import App

FORMATS = click.Choice(["auto", "csv", "parquet"])


def _data_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option(
        "--encoding", default=None, help="Text encoding of CSV files [default: utf-8]."
    )(func)
    func = click.option("--delimiter", default=None, help="CSV field delimiter [default: ,].")(func)
    return click.option(
        "--format", "fmt", type=FORMATS, default=None, help="File format [default: auto]."
    )(func)


def _data_flags(fmt: str | None, delimiter: str | None, encoding: str | None) -> dict[str, Any]:
    """The config keys behind :func:`_data_options`, named by their flags for errors."""
    return {
        "data.format@--format": fmt,
        "data.csv.delimiter@--delimiter": delimiter,
        "data.csv.encoding@--encoding": encoding,
    }


@click.command("validate-data")
@click.argument("data", required=False)
@click.option("--contract", help="Data contract (YAML) the data must meet.")
@click.option("--reference", help="Reference dataset or saved profile to measure drift against.")
@click.option("--save-profile", help="Save the reference profile here for reuse.")
@click.option(
    "--fail-on-drift/--warn-on-drift",
    default=None,
    help="Dataset drift fails the step, or only warns [default: fail].",
)
@click.option("--no-drift", is_flag=True, default=None, help="Skip the drift check.")
@_data_options
@click.pass_obj
def validate_data_cmd(
    app: App,
    data: str | None,
    contract: str | None,
    reference: str | None,
    save_profile: str | None,
    fail_on_drift: bool | None,
    no_drift: bool | None,
    fmt: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> None:
    """Check DATA (CSV, Parquet, a folder or glob of Parquet parts) against its contract and
    measure drift against a reference.

    Exit 0 when every check passes, 1 when one fails, 2 on unreadable input.
    """
    config = app.load_config(
        {
            "data.path@DATA": data,
            "contract@--contract": contract,
            "data.reference@--reference": reference,
            "validate.save_profile@--save-profile": save_profile,
            "validate.drift.fail@--fail-on-drift": fail_on_drift,
            "validate.drift.enabled@--no-drift": False if no_drift else None,
            **_data_flags(fmt, delimiter, encoding),
        }
    )
    from modelci.steps import validate_data

    app.finish(validate_data.run(config, app.runfolder(config)))


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
@_data_options
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
    fmt: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> None:
    """Write a starting contract inferred from reference DATA; review it before relying on it."""
    config = app.load_config(
        {
            "data.target@--target": target,
            **_data_flags(fmt, delimiter, encoding),
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
@_data_options
@click.pass_obj
def profile_cmd(
    app: App,
    reference: str,
    output: Path,
    contract: str | None,
    fmt: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> None:
    """Compute the drift statistics of REFERENCE once and save them for later runs."""
    config = app.load_config(
        {
            "contract@--contract": contract,
            **_data_flags(fmt, delimiter, encoding),
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
