"""Preprocessing derived from the data contract: numeric → impute + scale, categorical →
impute + one-hot (each configurable), wrapped with the estimator in one Pipeline so the
registered model takes the raw columns a caller has.

Column kinds come from the contract when there is one (it is the team's statement of what a
column means: an integer zip code is categorical), otherwise from the Arrow types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

Kind = Literal["numeric", "categorical"]


def arrow_kinds(schema: pa.Schema) -> dict[str, Kind]:
    """Kinds from Arrow types; columns of other types (dates, binary, lists) are left out."""
    import pyarrow as pa

    kinds: dict[str, Kind] = {}
    for field in schema:
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            kinds[field.name] = "numeric"
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t):
            kinds[field.name] = "categorical"
        elif pa.types.is_null(t):
            continue
    return kinds


def to_features(frame: pd.DataFrame, kinds: Mapping[str, Kind]) -> pd.DataFrame:
    """The feature frame a model sees: numeric as float, categorical as object with NaN for
    missing values (what SimpleImputer and OneHotEncoder handle on every pandas version)."""
    import numpy as np

    out = frame.copy()
    for column in out.columns:
        if kinds.get(str(column)) == "numeric":
            out[column] = out[column].astype("float64")
        else:
            values = out[column].astype(object)
            out[column] = values.where(values.notna(), np.nan)
    return out


def build_preprocessor(
    features: Sequence[str], kinds: Mapping[str, Kind], settings: Mapping[str, Any]
) -> Any:
    """A ColumnTransformer for ``features``; ``settings`` is the ``train.preprocess`` section."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    numeric = [c for c in features if kinds.get(c) == "numeric"]
    categorical = [c for c in features if kinds.get(c) == "categorical"]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(
            ("numeric", Pipeline(_numeric_steps(settings.get("numeric") or {})), numeric)
        )
    if categorical:
        transformers.append(
            (
                "categorical",
                Pipeline(_categorical_steps(settings.get("categorical") or {})),
                categorical,
            )
        )
    # Deterministic output column order, dense output: predictable models and digests.
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def _numeric_steps(settings: Mapping[str, Any]) -> list[tuple[str, Any]]:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    steps: list[tuple[str, Any]] = []
    impute = settings.get("impute", "median")
    if impute != "none":
        steps.append(("impute", SimpleImputer(strategy=impute)))
    scalers = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
    scale = settings.get("scale", "standard")
    if scale != "none":
        steps.append(("scale", scalers[scale]()))
    return steps or [("passthrough", "passthrough")]


def _categorical_steps(settings: Mapping[str, Any]) -> list[tuple[str, Any]]:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    steps: list[tuple[str, Any]] = []
    impute = settings.get("impute", "most_frequent")
    if impute == "constant":
        steps.append(("impute", SimpleImputer(strategy="constant", fill_value="__missing__")))
    elif impute != "none":
        steps.append(("impute", SimpleImputer(strategy=impute)))
    max_categories = settings.get("max_categories")
    if settings.get("encode", "onehot") == "ordinal":
        steps.append(
            (
                "encode",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    max_categories=max_categories,
                ),
            )
        )
    else:
        steps.append(
            (
                "encode",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist" if max_categories else "ignore",
                    max_categories=max_categories,
                    sparse_output=False,
                ),
            )
        )
    return steps
