"""SARIF 2.1.0 for GitHub code scanning: one result per finding, rules with their help."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from modelci.scanning.findings import Finding, ScanReport
from modelci.scanning.rules import RULES, Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://github.com/modelci/modelci/blob/main/docs/scan.md"

#: GitHub's scale: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium, below low
_SECURITY_SEVERITY = {"error": "9.0", "warning": "4.0"}


def sarif(report: ScanReport, *, tool_version: str, base_uri: str | None = None) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log.

    Artifact URIs are the findings' paths relative to the scanned root, prefixed with
    ``base_uri`` when given: pass the root's path relative to the repository (e.g.
    ``.modelci/model``) so GitHub finds the file, or an absolute ``file://`` URI. A
    finding in the file's own bytes carries its ``byteOffset``; one inside a container
    (a decompressed stream, an archive member) carries the offset in that decoded stream
    in its message and properties, since SARIF offsets count the artifact's own bytes.
    """
    rules = list(Rule)
    index = {rule.value: i for i, rule in enumerate(rules)}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "modelci-scan",
                        "version": tool_version,
                        "informationUri": TOOL_URI,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "results": [_result(f, index, base_uri) for f in report.findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def _rule(rule: Rule) -> dict[str, Any]:
    info = RULES[rule]
    return {
        "id": rule.value,
        "name": "".join(part.capitalize() for part in rule.value.split("-")),
        "shortDescription": {"text": info.description.split(": ")[0].split(". ")[0][:1000]},
        "fullDescription": {"text": info.description},
        "help": {"text": info.help, "markdown": f"{info.description}\n\n**Fix:** {info.help}"},
        "defaultConfiguration": {"level": info.severity},
        "properties": {
            "tags": ["security", "model", "deserialization"],
            "precision": "high",
            "security-severity": _SECURITY_SEVERITY[info.severity],
        },
    }


def _result(finding: Finding, index: dict[str, int], base_uri: str | None) -> dict[str, Any]:
    uri = quote(finding.file, safe="/")
    if base_uri:
        uri = f"{base_uri.rstrip('/')}/{uri}"
    region: dict[str, Any] = {"startLine": 1}
    if finding.offset is not None and finding.container is None:
        region.update(byteOffset=finding.offset, byteLength=1)
    details = [finding.message]
    if finding.container:
        details.append(f"[in {finding.container}]")
    properties: dict[str, Any] = {}
    for key, value in (
        ("opcode", finding.opcode),
        ("global", str(finding.global_) if finding.global_ else None),
        ("container", finding.container),
        ("decodedOffset", finding.offset if finding.container else None),
    ):
        if value is not None:
            properties[key] = value
    identity = "\x1f".join(
        (
            finding.rule,
            finding.file,
            finding.container or "",
            properties.get("global", ""),
            "" if finding.global_ else str(finding.offset),
        )
    )
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": finding.severity,
        "message": {"text": " ".join(details)},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
        "partialFingerprints": {
            "primaryLocationLineHash": hashlib.sha256(identity.encode()).hexdigest()[:16] + ":1"
        },
    }
    if properties:
        result["properties"] = properties
    return result
