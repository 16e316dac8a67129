"""The steps modelci knows: one explicit table, step name → :class:`~modelci.step.StepSpec`.

The pipeline, the command line, the actions, the GitLab templates, the docs and the Python
API are all made from this table. Importing it is cheap: a step module imports its heavy
libraries inside the functions that need them.
"""

from __future__ import annotations

from modelci.step import StepSpec
from modelci.steps import (
    compare,
    promote,
    provenance,
    sbom,
    scan,
    sign,
    train,
    validate_data,
    verify,
)

#: every step, in pipeline order; verify and promote run before a deploy instead
STEPS: dict[str, StepSpec] = {
    spec.name: spec
    for spec in (
        validate_data.SPEC,
        train.SPEC,
        compare.SPEC,
        scan.SPEC,
        sign.SPEC,
        sbom.SPEC,
        provenance.SPEC,
        verify.SPEC,
        promote.SPEC,
    )
}
#: the build pipeline of `modelci pipeline`, in order (DESIGN.md)
PIPELINE: tuple[str, ...] = (
    "validate-data",
    "train",
    "compare",
    "scan",
    "sign",
    "sbom",
    "provenance",
)

__all__ = ["PIPELINE", "STEPS"]
