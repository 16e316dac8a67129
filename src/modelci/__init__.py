"""modelci: ship machine-learning models through the CI pipelines a team already runs.

The public Python API is one call per step (see :mod:`modelci.api` and docs/api.md)::

    import modelci
    modelci.validate_data("data/train.csv", contract="contract.yaml")
    modelci.train(project="churn")
    modelci.compare(project="churn")
    modelci.promote(project="churn")

with their results (:class:`StepResult`) and errors (:class:`ModelciError` and its
subclasses, each with the exit code the command line would give). Every other module is
internal and may change between versions.
"""

from __future__ import annotations

__version__ = "0.1.0"

from modelci.api import compare, pipeline, promote, run_step, train, validate_data
from modelci.errors import (
    ConfigError,
    DataError,
    GateFailed,
    InfraError,
    InputError,
    ModelciError,
)
from modelci.results import Check, StepResult

__all__ = [
    "Check",
    "ConfigError",
    "DataError",
    "GateFailed",
    "InfraError",
    "InputError",
    "ModelciError",
    "StepResult",
    "__version__",
    "compare",
    "pipeline",
    "promote",
    "run_step",
    "train",
    "validate_data",
]
