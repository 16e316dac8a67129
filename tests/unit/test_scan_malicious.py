"""The malicious corpus: every variant is blocked with its rule, and nothing is ever run."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelci.scanning import Finding, Limits, scan
from tests.unit.scan_payloads import Case, Expect, _Builder, build_malicious

FAMILIES = {
    "protocols",
    "opcodes",
    "builtins",
    "indirection",
    "code-execution",
    "nested-loaders",
    "memo",
    "extension",
    "streams",
    "wrong-extension",
    "compression",
    "joblib",
    "archives",
    "skops",
    "cloudpickle",
    "files",
    "mlflow",
}


@dataclass(frozen=True)
class Corpus:
    root: Path
    sentinel: Path
    cases: list[Case]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("malicious")
    sentinel = tmp_path_factory.mktemp("sentinel") / "pwned"
    return Corpus(root, sentinel, build_malicious(root, sentinel))


def _matches(expect: Expect, finding: Finding) -> bool:
    return (
        finding.rule == expect.rule
        and (expect.global_ is None or str(finding.global_) == expect.global_)
        and (expect.opcode is None or finding.opcode == expect.opcode)
        and (expect.offset is None or finding.offset == expect.offset)
        and (expect.container is None or expect.container in (finding.container or ""))
        and (expect.file is None or finding.file == expect.file)
    )


def test_corpus_spans_the_bypass_families(corpus: Corpus) -> None:
    assert len(corpus.cases) >= 40
    assert {case.family for case in corpus.cases} == FAMILIES
    assert len({case.name for case in corpus.cases}) == len(corpus.cases)
    protocols = {case.name for case in corpus.cases if case.family == "protocols"}
    assert protocols == {f"reducer-override-protocol-{p}" for p in range(6)}


def test_every_variant_is_blocked_with_its_findings(corpus: Corpus) -> None:
    misses: list[str] = []
    for case in corpus.cases:
        report = scan(corpus.root / case.path, limits=Limits(**case.limits))
        if report.passed:
            misses.append(f"{case.name}: passed the scan")
        for expect in case.expects:
            if not any(_matches(expect, f) for f in report.findings):
                seen = "; ".join(
                    f"{f.rule} {f.global_} {f.opcode}@{f.offset} [{f.container}]"
                    for f in report.findings
                )
                misses.append(f"{case.name}: no {expect} among {seen}")
    assert not misses, "\n".join(misses)


def test_representative_cases_carry_exact_offsets_and_opcodes(corpus: Corpus) -> None:
    exact = [e for case in corpus.cases for e in case.expects if e.offset is not None]
    assert len(exact) >= 30
    assert {e.opcode for e in exact} >= {
        "GLOBAL",
        "STACK_GLOBAL",
        "INST",
        "BUILD",
        "EXT1",
        "EXT2",
        "EXT4",
    }


def test_scanning_the_whole_corpus_never_runs_a_payload(corpus: Corpus) -> None:
    report = scan(corpus.root)
    assert not report.passed
    rules = Counter(f.rule for f in report.errors)
    assert rules["unsafe-global"] >= 60
    assert not corpus.sentinel.exists()


def test_the_payloads_do_work_when_loaded(tmp_path: Path) -> None:
    """Control for the sentinel test: unpickling a corpus payload does create the file."""
    control = tmp_path / "control-sentinel"
    payload = tmp_path / "payload.pkl"
    payload.write_bytes(_Builder(tmp_path, control).system_p0())
    subprocess.run(
        [sys.executable, "-c", f"import pickle; pickle.load(open({str(payload)!r}, 'rb'))"],
        check=True,
        capture_output=True,
    )
    assert control.exists()


def test_findings_name_what_to_do(corpus: Corpus) -> None:
    report = scan(corpus.root / "protocols" / "p4.pkl")
    (finding,) = report.findings
    assert finding.file == "p4.pkl"
    assert finding.severity == "error"
    assert "\n" not in finding.message
    assert "scan.allow" in finding.message and "posix:system" in finding.message
