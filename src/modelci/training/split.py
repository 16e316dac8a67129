"""The holdout: a seeded, optionally stratified split of row positions."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from modelci.errors import DataError

IntArray = npt.NDArray[np.int64]


def holdout(
    y: npt.NDArray[Any], *, test_size: float, seed: int, stratify: bool, source: str
) -> tuple[IntArray, IntArray]:
    """Sorted positions of the training and test rows."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(y), dtype=np.int64)
    try:
        train, test = train_test_split(
            positions, test_size=test_size, random_state=seed, stratify=y if stratify else None
        )
    except ValueError as exc:
        raise DataError(
            source,
            f"cannot hold out {test_size:.0%} of {len(y)} rows"
            f"{' with stratification' if stratify else ''}: {exc}; "
            "use more rows, a different train.split.test_size or train.split.stratify: false",
        ) from None
    return np.sort(train), np.sort(test)


def folds(
    y: npt.NDArray[Any], *, k: int, seed: int, stratify: bool, source: str
) -> list[tuple[IntArray, IntArray]]:
    """k (train, validation) position pairs over ``y``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (
        StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        if stratify
        else KFold(n_splits=k, shuffle=True, random_state=seed)
    )
    try:
        return [
            (np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
            for a, b in splitter.split(np.zeros(len(y)), y)
        ]
    except ValueError as exc:
        raise DataError(source, f"cannot make {k} folds: {exc}; lower train.cv.folds") from None
