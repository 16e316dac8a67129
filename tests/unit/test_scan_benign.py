"""The benign corpus: every scikit-learn estimator in every format scans with no finding.

Built once per session: about 25 s to fit and write (all_estimators() on a 150-row
dataset, ensembles shrunk to 5 members), about 12 s to scan ~1,700 files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelci.scanning import ScanReport, scan
from tests.unit.scan_corpus import FORMATS, JOBLIB_COMPRESSORS, SKIPPED, fitted_models, write_benign

pytestmark = pytest.mark.slow

#: what a serializer refuses, by design of that serializer (not a scanner matter)
SERIALIZER_REFUSALS = {
    "Birch/skops": "skops cannot persist Birch (its _CFNode tree is an unsupported type)",
}


@dataclass(frozen=True)
class Benign:
    root: Path
    models: list[str]
    failed: dict[str, str]
    refused: dict[str, str]
    files: int
    report: ScanReport
    build_seconds: float
    scan_seconds: float


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def benign(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Benign:
    # one corpus for the whole run: pytest-xdist workers share it through their common
    # base folder, and the first to arrive builds it
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    root = shared / "scan-benign"
    summary = root / "corpus.json"
    with _locked(shared / "scan-benign.lock"):
        if not summary.exists():
            start = time.perf_counter()
            models, failed = fitted_models()
            files, refused = write_benign(root / "files", models)
            summary.write_text(
                json.dumps(
                    {
                        "models": sorted(models),
                        "failed": failed,
                        "refused": refused,
                        "files": len(files),
                        "seconds": time.perf_counter() - start,
                    }
                )
            )
    built = json.loads(summary.read_text())
    start = time.perf_counter()
    report = scan(root / "files")
    return Benign(
        root / "files",
        built["models"],
        built["failed"],
        built["refused"],
        built["files"],
        report,
        built["seconds"],
        time.perf_counter() - start,
    )


def test_every_listed_estimator_fits(benign: Benign) -> None:
    from sklearn.utils import all_estimators

    assert benign.failed == {}, "fit these or list them in scan_corpus.SKIPPED with why"
    listed = {name for name, _ in all_estimators()}
    assert listed - set(SKIPPED) <= set(benign.models)
    composites = [n for n in benign.models if n not in listed]
    assert len(composites) >= 6


def test_every_model_is_written_in_every_format(benign: Benign) -> None:
    assert {k: v.split(":")[0] for k, v in benign.refused.items()} == {
        "Birch/skops": "UnsupportedTypeException"
    }, SERIALIZER_REFUSALS
    assert benign.files == len(benign.models) * len(FORMATS) - len(benign.refused)
    assert len(benign.report.files) == benign.files


def test_benign_corpus_has_no_findings(benign: Benign) -> None:
    shown = "\n".join(
        f"{f.file} [{f.container}]: {f.rule} {f.message}" for f in benign.report.findings[:25]
    )
    assert benign.report.errors == (), shown
    assert benign.report.passed
    assert benign.report.warnings == (), shown


def test_benign_corpus_is_read_as_what_it_is(benign: Benign) -> None:
    formats = Counter(f.format for f in benign.report.files)
    assert formats["skops"] == len(benign.models) - 1
    assert formats["joblib"] >= len(benign.models) * 0.9  # estimators without arrays are pickles
    for compressor in JOBLIB_COMPRESSORS:
        assert formats[f"{compressor}+joblib"] >= 20, formats
    assert formats["pickle"] >= len(benign.models) * 5  # protocols 2-5 and cloudpickle
    assert sum(f.globals_seen for f in benign.report.files) > 20_000
    allowed = {str(g) for g in benign.report.allowed_globals}
    assert "sklearn.tree._tree:Tree" in allowed
    assert "joblib.numpy_pickle:NumpyArrayWrapper" in allowed


def test_scan_time_is_reported(benign: Benign) -> None:
    # not an assertion on speed (that is bench/bench_scan.py): a record in the test log
    print(
        f"benign corpus: {len(benign.models)} models, {benign.files} files, "
        f"built in {benign.build_seconds:.1f} s, scanned in {benign.scan_seconds:.1f} s"
    )


@pytest.mark.parametrize("serialization", ["skops", "cloudpickle"])
def test_mlflow_model_folder_passes(
    serialization: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.sklearn
    import skops.io

    from tests.unit.scan_corpus import composite_models

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    model = composite_models()["pipeline-columntransformer-hgb"]
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    folder = tmp_path / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            model,
            folder,
            serialization_format=serialization,
            skops_trusted_types=trusted if serialization == "skops" else None,
        )
    report = scan(folder)
    assert report.findings == ()
    formats = {f.path: f.format for f in report.files}
    assert formats["MLmodel"] == "text"
    assert formats["model.skops" if serialization == "skops" else "model.pkl"] == (
        "skops" if serialization == "skops" else "pickle"
    )
