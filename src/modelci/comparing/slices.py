"""Per-slice rules: a metric must also hold on each value of a column (a region, a segment).

A model can be better on average while getting much worse for one group; a guarded slice
turns that into a failed gate. Slices smaller than ``min_rows`` are reported, not judged:
an interval on a handful of rows says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from modelci.comparing.rules import Rule, parse_rule
from modelci.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MIN_ROWS = 30
#: a column with more distinct values than this needs ``values`` or ``bins``
MAX_DISTINCT = 50


@dataclass(frozen=True)
class SliceSpec:
    column: str
    rule: Rule
    values: tuple[Any, ...] | None = None
    bins: int | None = None
    min_rows: int = DEFAULT_MIN_ROWS


@dataclass(frozen=True)
class Slice:
    spec: SliceSpec
    label: str
    mask: npt.NDArray[np.bool_]

    @property
    def scope(self) -> str:
        return f"{self.spec.column}={self.label}"

    @property
    def rows(self) -> int:
        return int(self.mask.sum())


def parse_slices(
    raw: list[Mapping[str, Any]] | None, task: str, where: str, *, base_dir: Path | None = None
) -> list[SliceSpec]:
    specs: list[SliceSpec] = []
    for i, item in enumerate(raw or []):
        at = f"{where}[{i}]"
        metric = item.get("metric")
        if not metric:
            raise ConfigError("a slice rule needs a metric", source=at)
        rule_keys = ("direction", "max_degradation", "relative", "min_improvement")
        rule = parse_rule(
            str(metric), {k: item[k] for k in rule_keys if k in item}, task, at, base_dir=base_dir
        )
        values = item.get("values")
        specs.append(
            SliceSpec(
                column=str(item["column"]),
                rule=rule,
                values=tuple(values) if values else None,
                bins=item.get("bins"),
                min_rows=int(item.get("min_rows", DEFAULT_MIN_ROWS)),
            )
        )
    return specs


def build(spec: SliceSpec, data: pd.DataFrame, source: str) -> list[Slice]:
    """The row masks of one slice rule, one per value (or bin) of its column."""
    import pandas as pd

    if spec.column not in data.columns:
        raise DataError(
            source,
            f"no column {spec.column!r} to slice by (compare.slices); "
            "slice by a column of the evaluation set",
        )
    column = data[spec.column]
    if spec.bins:
        binned = pd.qcut(column, q=spec.bins, duplicates="drop")
        intervals = list(binned.cat.categories)
        labels = interval_labels([(i.left, i.right) for i in intervals])
        return [
            Slice(spec, label, (binned == interval).to_numpy())
            for label, interval in zip(labels, intervals, strict=True)
        ]
    if spec.values is not None:
        values = list(spec.values)
    else:
        values = list(column.dropna().unique())
        if len(values) > MAX_DISTINCT:
            raise DataError(
                source,
                f"column {spec.column!r} has {len(values)} distinct values; give the slice "
                "rule 'values' to guard or 'bins' to cut it into quantiles",
            )
        try:
            values = sorted(values)
        except TypeError:
            values = sorted(values, key=str)
    return [Slice(spec, str(v), (column == v).to_numpy(dtype=bool)) for v in values]


def interval_labels(bounds: list[tuple[float, float]]) -> list[str]:
    """Quantile bins as people read them, ``(7.759, 11.61]`` rather than the float noise of
    ``(7.7589999999999995, 11.608]``: the fewest significant digits (4 at least) that keep
    every label distinct."""

    for digits in range(4, 18):
        labels = [f"({_rounded(low, digits)}, {_rounded(high, digits)}]" for low, high in bounds]
        if len(set(labels)) == len(labels):
            return labels
    return [f"({low!r}, {high!r}]" for low, high in bounds]


def _rounded(value: float, digits: int) -> str:
    text = f"{float(value):.{digits}g}"
    return "0" if text.lstrip("+-") == "0" else text
