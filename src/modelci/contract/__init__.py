"""Data contracts: the rules a dataset must meet, and the checks that enforce them.

``model`` parses and validates the YAML (light imports); ``checks`` runs the rules on a
pyarrow Table; ``infer`` writes a starting contract from reference data.
"""

from __future__ import annotations

from modelci.contract.model import (
    ColumnSpec,
    Contract,
    TableSpec,
    column_kinds,
    contract_schema,
    load_contract,
)

__all__ = [
    "ColumnSpec",
    "Contract",
    "TableSpec",
    "column_kinds",
    "contract_schema",
    "load_contract",
]
