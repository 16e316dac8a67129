"""The model scanner against picklescan and modelscan, on the same files, in one run.

    python3 -m venv bench/.venv-scan
    bench/.venv-scan/bin/pip install -r bench/requirements-scan.txt
    .venv/bin/python bench/bench_scan.py [--repeat 3] [--rebuild]

Two corpora, built by the test suite's own builders (tests/unit/scan_corpus.py and
tests/unit/scan_payloads.py) and cached in bench/.data/scan/:

- benign: every scikit-learn estimator ``all_estimators()`` lists, plus pipelines and
  column transformers, in pickle protocols 2-5, joblib (plain and compressed), cloudpickle
  and skops; a flagged file is a false positive;
- malicious: the 87 bypass variants of the tests; a case (a file, or a folder for the
  MLflow and symlink cases) is blocked when the tool flags a file in it.

Each tool runs as a subprocess over a whole corpus folder (modelci too, so start-up costs
count alike); the fastest of ``--repeat`` runs is reported. The peers run from their own
virtual environment (they pin other versions of numpy). What counts as flagged: modelci,
an ``error`` finding; picklescan, a "dangerous import" line (default mode) or also a
"suspicious" global (``--strict``, its default-deny mode); modelscan, any issue.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.unit.scan_payloads import Case, build_malicious  # noqa: E402

DATA = HERE / ".data" / "scan"
PEERS = HERE / ".venv-scan"

_MODELCI = """
import json, sys
from modelci.scanning import scan
report = scan(sys.argv[1])
print(json.dumps(sorted({f.file for f in report.errors})))
"""


@dataclass
class Run:
    tool: str
    seconds: float
    #: files flagged, relative to the corpus root
    flagged: set[str]
    notes: list[str] = field(default_factory=list)


def _time(command: list[str], repeat: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    best = float("inf")
    done: subprocess.CompletedProcess[str] | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
    assert done is not None
    return best, done


def _modelci(root: Path, repeat: int) -> Run:
    seconds, done = _time([sys.executable, "-c", _MODELCI, str(root)], repeat)
    if done.returncode != 0:
        raise SystemExit(f"modelci failed: {done.stderr[-2000:]}")
    return Run("modelci", seconds, set(json.loads(done.stdout)))


def _member_file(root: Path, name: str) -> str:
    """``a/b.zip:member`` -> ``a/b.zip``: peers name archive members after the file."""
    while ":" in name and not (root / name).exists():
        name = name.rsplit(":", 1)[0]
    return name


def _picklescan(root: Path, repeat: int, strict: bool) -> Run:
    command = [str(PEERS / "bin" / "picklescan"), "--path", str(root)]
    if strict:
        command.append("--strict")
    seconds, done = _time(command, repeat)
    flagged = set()
    pattern = re.compile(r"^(?P<path>.+?): (dangerous|suspicious) import ")
    for line in done.stdout.splitlines():
        match = pattern.match(line)
        if match and (strict or match.group(2) == "dangerous"):
            path = Path(match.group("path"))
            rel = str(path.relative_to(root)) if path.is_absolute() else str(path)
            flagged.add(_member_file(root, rel))
    errors = sum(
        1
        for line in (done.stdout + done.stderr).splitlines()
        if "could not parse" in line or line.startswith("ERROR")
    )
    name = "picklescan --strict" if strict else "picklescan"
    return Run(name, seconds, flagged, [f"{errors} parse errors or warnings"])


def _modelscan(root: Path, repeat: int) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        command = [
            str(PEERS / "bin" / "modelscan"),
            "scan",
            "-p",
            str(root),
            "-r",
            "json",
            "-o",
            str(out),
        ]
        seconds, _ = _time(command, repeat)
        report = json.loads(out.read_text())
    flagged = {_member_file(root, issue["source"]) for issue in report.get("issues", [])}
    scanned = report["summary"].get("scanned", {}).get("total_scanned", 0)
    errors = len(report.get("errors", []))
    return Run("modelscan", seconds, flagged, [f"{scanned} files scanned, {errors} errors"])


def _benign(rebuild: bool) -> tuple[Path, int]:
    import sklearn

    from tests.unit.scan_corpus import fitted_models, write_benign

    root = DATA / "benign"
    stamp = DATA / "benign.stamp"
    if rebuild or not stamp.exists() or stamp.read_text().split()[0] != sklearn.__version__:
        shutil.rmtree(root, ignore_errors=True)
        print("building the benign corpus (fits every scikit-learn estimator) ...", flush=True)
        models, failed = fitted_models()
        files, _ = write_benign(root, models)
        stamp.write_text(f"{sklearn.__version__} {len(files)} {len(models)}\n")
        if failed:
            print(f"  not fitted: {sorted(failed)}")
    return root, int(stamp.read_text().split()[1])


def _malicious() -> tuple[Path, list[Case], Path]:
    root = DATA / "malicious"
    sentinel = DATA / "sentinel"
    shutil.rmtree(root, ignore_errors=True)
    sentinel.unlink(missing_ok=True)
    cases = build_malicious(root, sentinel)
    return root, cases, sentinel


def _blocked(case: Case, flagged: set[str]) -> bool:
    return any(
        name == case.path or name.startswith(case.path.rstrip("/") + "/") for name in flagged
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached benign corpus")
    args = parser.parse_args()
    if not (PEERS / "bin" / "picklescan").exists():
        requirements = HERE / "requirements-scan.txt"
        raise SystemExit(
            f"peers missing: python3 -m venv {PEERS} && {PEERS}/bin/pip install -r {requirements}"
        )
    DATA.mkdir(parents=True, exist_ok=True)
    benign_root, benign_files = _benign(args.rebuild)
    mal_root, cases, sentinel = _malicious()
    # bombs need a small limit to be bombs; this run uses every tool's defaults
    scored = [c for c in cases if not c.limits]
    tools: list[Callable[[Path, int], Run]] = [
        _modelci,
        lambda root, n: _picklescan(root, n, strict=False),
        lambda root, n: _picklescan(root, n, strict=True),
        _modelscan,
    ]
    rows = []
    for tool in tools:
        benign = tool(benign_root, args.repeat)
        malicious = tool(mal_root, args.repeat)
        blocked = [c for c in scored if _blocked(c, malicious.flagged)]
        missed = sorted(c.name for c in scored if c not in blocked)
        rows.append((benign, malicious, len(blocked), missed))
    if sentinel.exists():
        raise SystemExit("a payload ran during the benchmark: the sentinel file exists")

    base_b, base_m = rows[0][0].seconds, rows[0][1].seconds
    print(
        f"\nbenign: {benign_files} files; malicious: {len(scored)} cases "
        f"({len(cases) - len(scored)} excluded: bombs under a small limit); best of {args.repeat}"
    )
    print(
        f"{'tool':<21}{'false pos.':>11}{'benign s':>10}{'x modelci':>10}"
        f"{'blocked':>9}{'missed':>8}{'malic. s':>10}{'x modelci':>10}"
    )
    for benign, malicious, blocked, missed in rows:
        print(
            f"{benign.tool:<21}{len(benign.flagged):>11}{benign.seconds:>10.2f}"
            f"{benign.seconds / base_b:>10.2f}{blocked:>9}{len(missed):>8}"
            f"{malicious.seconds:>10.2f}{malicious.seconds / base_m:>10.2f}"
        )
    for benign, malicious, _, missed in rows:
        notes = "; ".join(benign.notes + [f"malicious: {n}" for n in malicious.notes])
        print(f"\n{benign.tool}: missed {len(missed)}: {', '.join(missed) or '-'}")
        if notes:
            print(f"  benign: {notes}")
        if benign.flagged:
            shown = sorted(benign.flagged)
            more = " ..." if len(shown) > 12 else ""
            print(f"  false positives ({len(shown)}): {', '.join(shown[:12])}{more}")


if __name__ == "__main__":
    main()
