"""Static scanning of model files: nothing scanned is ever loaded or unpickled.

A file is identified by its bytes (pickle, joblib, skops, zip/npz, npy, compressed
streams, MLflow model folders) and judged by an exact allowlist of the (module, name)
globals a loader would import. See docs/scan.md.
"""

from __future__ import annotations

from modelci.scanning.allowlist import DEFAULT_LOADERS, default_allowlist
from modelci.scanning.findings import Finding, Global, ScannedFile, ScanReport
from modelci.scanning.limits import Limits
from modelci.scanning.rules import RULES, Rule, RuleInfo
from modelci.scanning.sarif import sarif
from modelci.scanning.scanner import scan

__all__ = [
    "DEFAULT_LOADERS",
    "RULES",
    "Finding",
    "Global",
    "Limits",
    "Rule",
    "RuleInfo",
    "ScanReport",
    "ScannedFile",
    "default_allowlist",
    "sarif",
    "scan",
]
