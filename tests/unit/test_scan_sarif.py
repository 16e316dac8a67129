"""SARIF output validates against the official SARIF 2.1.0 schema (tests/data/sarif)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from modelci.scanning import RULES, ScanReport, sarif, scan
from tests.conftest import REPO
from tests.unit.scan_payloads import _Builder

SCHEMA = REPO / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture
def report(tmp_path: Path) -> ScanReport:
    builder = _Builder(tmp_path, tmp_path / "sentinel")
    model = tmp_path / "model"
    (model / "sub dir").mkdir(parents=True)
    (model / "model.pkl").write_bytes(builder.system_p4())
    (model / "sub dir" / "weights.z").write_bytes(zlib.compress(builder.system_p0()))
    (model / "notes.bin").write_bytes(b"\x00\x01\x02binary")
    return scan(model)


def _valid(validator: jsonschema.Draft7Validator, log: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_sarif_validates_and_locates_each_finding(
    validator: jsonschema.Draft7Validator, report: ScanReport
) -> None:
    log = sarif(report, tool_version="0.1.0")
    _valid(validator, log)
    json.dumps(log)  # plain JSON values only
    run = log["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert set(rules) == {rule.value for rule in RULES}
    results = run["results"]
    assert len(results) == len(report.findings) == 3
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in results}
    top = by_uri["model.pkl"]
    assert top["ruleId"] == "unsafe-global" and top["level"] == "error"
    assert rules[top["ruleIndex"]] == "unsafe-global"
    region = top["locations"][0]["physicalLocation"]["region"]
    assert region["byteOffset"] == report.findings[0].offset == 14  # PROTO, "os", "system"
    assert top["properties"] == {"opcode": "STACK_GLOBAL", "global": "os:system"}
    assert "os:system" in top["message"]["text"] and "STACK_GLOBAL" in top["message"]["text"]
    nested = by_uri["sub%20dir/weights.z"]
    assert "byteOffset" not in nested["locations"][0]["physicalLocation"]["region"]
    assert nested["properties"]["container"] == "sub dir/weights.z > zlib"
    assert nested["properties"]["decodedOffset"] == 0
    assert by_uri["notes.bin"]["level"] == "warning"


def test_rules_carry_descriptions_help_and_levels(
    validator: jsonschema.Draft7Validator, report: ScanReport
) -> None:
    log = sarif(report, tool_version="0.1.0", base_uri=".modelci/model/")
    _valid(validator, log)
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning"}
        assert "security" in rule["properties"]["tags"]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert ".modelci/model/model.pkl" in uris
    fingerprints = [
        r["partialFingerprints"]["primaryLocationLineHash"] for r in log["runs"][0]["results"]
    ]
    assert len(set(fingerprints)) == len(fingerprints)


def test_clean_report_is_valid_sarif(validator: jsonschema.Draft7Validator, tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("scikit-learn==1.9.1\n")
    log = sarif(scan(tmp_path), tool_version="0.1.0")
    _valid(validator, log)
    assert log["runs"][0]["results"] == []
