"""Read a dataset the way the project's configuration says (format, CSV dialect)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelci.data.csvfile import DEFAULT_NULL_VALUES
from modelci.data.reader import Dataset, read_dataset

if TYPE_CHECKING:
    from modelci.config import Config


def read_configured(config: Config, path: str | Path, *, progress: bool | None = None) -> Dataset:
    """Every step reads its data through here, so ``data.*`` settings mean the same everywhere."""
    return read_dataset(
        path,
        format=config.get("data.format", "auto"),
        delimiter=config.get("data.csv.delimiter", ","),
        encoding=config.get("data.csv.encoding", "utf-8"),
        null_values=config.get("data.csv.null_values", DEFAULT_NULL_VALUES),
        progress=progress,
    )
