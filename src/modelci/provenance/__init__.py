"""SLSA Provenance v1 of a trained model: build the in-toto statement, check it against
the model on disk.

    statement = build_statement(ProvenanceInputs(digests=signed.digests, ...))
    bundle = modelci.signing.sign_statement(Statement.from_json(canonical(statement)), signer)
    check_statement(statement, model_dir, builder=..., source_repository=...)

See docs/provenance.md for the build type's parameters and the SLSA levels reached.
"""

from __future__ import annotations

from modelci.provenance.check import check_statement, repository_key
from modelci.provenance.inputs import (
    BUILD_TYPE,
    ConfigFile,
    ProvenanceInputs,
    Resource,
    RunDetails,
    SourceRepository,
    Training,
)
from modelci.provenance.statement import (
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    build_statement,
    canonical,
)

__all__ = [
    "BUILD_TYPE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "ConfigFile",
    "ProvenanceInputs",
    "Resource",
    "RunDetails",
    "SourceRepository",
    "Training",
    "build_statement",
    "canonical",
    "check_statement",
    "repository_key",
]
