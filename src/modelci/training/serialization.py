"""How the fitted model is serialized (``train.serialization``), checked before it is logged.

MLflow serializes the model itself when it logs it; what it cannot tell is whether the file
loads back into the same model. A skops archive of a lambda, for one, saves and then fails
to load wherever the registered model is used. So the model is serialized here first, loaded
back and made to predict the input example, and only a model that survives that is logged;
for skops the same pass lists the types to trust when loading it (exactly this model's).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelci.errors import InputError, first_line

FORMATS = ("skops", "cloudpickle", "pickle")
SKOPS_HINT = (
    "use estimators skops supports, or set train.serialization: cloudpickle "
    "(loading it runs code: trust the source)"
)


@dataclass(frozen=True)
class Checked:
    """A model that loads back from ``serialization`` and predicts the same."""

    serialization: str
    #: skops: the types of this model to trust when loading it (``None``: skops' own suffice)
    trusted_types: tuple[str, ...] | None


def check(model: Any, example: Any, serialization: str, where: str) -> Checked:
    """Serialize ``model``, load it back and compare its predictions on ``example``;
    InputError naming ``where`` (the setting to change) when either fails."""
    data, trusted = _dumps(model, serialization, where)
    try:
        loaded = _loads(data, serialization, trusted)
    except Exception as exc:  # e.g. a lambda: skops writes its name, cannot find it again
        raise InputError(
            f"{where}: the model saved with {serialization} cannot be loaded back "
            f"({type(exc).__name__}: {first_line(exc, 200)}); "
            + (
                SKOPS_HINT
                if serialization == "skops"
                else "define the estimator and its functions at the top level of a module"
            )
        ) from None
    if example is not None and hasattr(model, "predict"):
        output = np.asarray(model.predict(example))
        again = np.asarray(loaded.predict(example))
        if not _same(output, again):
            raise InputError(
                f"{where}: the model saved with {serialization} predicts differently once "
                "loaded back; choose another train.serialization"
            )
    return Checked(serialization, trusted)


def _dumps(model: Any, serialization: str, where: str) -> tuple[bytes, tuple[str, ...] | None]:
    if serialization == "skops":
        import skops.io

        try:
            data = skops.io.dumps(model)
        except Exception as exc:  # skops refuses what it cannot represent without code
            raise InputError(
                f"{where}: the model cannot be saved with skops ({type(exc).__name__}: "
                f"{first_line(exc, 200)}); {SKOPS_HINT}"
            ) from None
        # The types of the model the user configured are what this run wrote; trusting
        # exactly those lets the registered model load without trusting anything else.
        return data, tuple(sorted(skops.io.get_untrusted_types(data=data))) or None
    lib: Any = pickle
    if serialization == "cloudpickle":
        import cloudpickle  # type: ignore[import-untyped]

        lib = cloudpickle
    try:
        # Python's default protocol, as MLflow uses, for the widest compatibility.
        return lib.dumps(model, protocol=pickle.DEFAULT_PROTOCOL), None
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InputError(
            f"{where}: the model cannot be saved with {serialization} ({first_line(exc, 200)}); "
            "define the estimator class at the top level of an importable module"
        ) from None


def _loads(data: bytes, serialization: str, trusted: tuple[str, ...] | None) -> Any:
    if serialization == "skops":
        import skops.io

        return skops.io.loads(data, trusted=list(trusted) if trusted else None)
    return pickle.loads(data)  # noqa: S301 - the bytes this process wrote a moment ago


def _same(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))
