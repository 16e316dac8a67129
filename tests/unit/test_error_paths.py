"""Every bad input, on every command: one line on stderr, the right exit code, no traceback.

The product rule: bad input exits 2 with ``modelci: error: ...`` naming the file, key or
column and saying what to fix; a failed gate exits 1; an unreachable service exits 3 after
bounded retries naming the URI. Nothing half-written may be left in the run folder.

Cases that need a trained model share one run folder trained once per module (``trained``);
each case works on its own copy of the project, so no case sees another's files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, CliRunner

UNREACHABLE = "http://127.0.0.1:9"
#: keeps the unreachable-server cases quick; the train case keeps the default retries
FAST_RETRIES = {"MODELCI_TRAIN__TRACKING__RETRIES": "1", "MODELCI_TRAIN__TRACKING__BACKOFF": "0.1"}

Setup = Callable[["Ctx"], "tuple[list[str], dict[str, str]]"]


@dataclass
class Ctx:
    project: Path
    request: pytest.FixtureRequest

    def write(self, name: str, data: str | bytes) -> Path:
        path = self.project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        return path

    def csv_lines(self, name: str = "data/train.csv") -> list[str]:
        return (self.project / name).read_text(encoding="utf-8").splitlines()

    def config(self, old: str = "", new: str = "", append: str = "") -> None:
        path = self.project / "modelci.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new) + append, encoding="utf-8")

    def manifest(self, change: Callable[[dict[str, object]], None]) -> None:
        path = self.project / ".modelci" / "manifest.json"
        empty = {"schema_version": 2, "modelci_version": "0.1.0", "created": "2026-01-01T00:00:00Z"}
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else empty
        change(data)
        self.write(".modelci/manifest.json", json.dumps(data))

    def read_only(self, name: str) -> None:
        """Make a folder unwritable, even for root (immutable), undone after the test."""
        folder = self.project / name
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            folder.chmod(0o555)
            self.request.addfinalizer(lambda: folder.chmod(0o755))
            return
        if shutil.which("chattr") is None:
            pytest.skip("root without chattr cannot make a read-only folder")
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip("chattr +i is not permitted here")
        self.request.addfinalizer(
            lambda: subprocess.run(["chattr", "-i", str(folder)], check=False)
        )


@dataclass
class Case:
    id: str
    setup: Setup
    code: int
    words: tuple[str, ...]
    trained: bool = False
    #: fails inside the MLflow run train started (the store then holds that FAILED run)
    tracked: bool = False


CASES: list[Case] = []


def case(
    id: str, code: int, *words: str, trained: bool = False, tracked: bool = False
) -> Callable[[Setup], Setup]:
    def register(setup: Setup) -> Setup:
        CASES.append(Case(id, setup, code, words, trained, tracked))
        return setup

    return register


def _drop_column(lines: list[str], column: str) -> str:
    index = lines[0].split(",").index(column)
    rows = [[c for i, c in enumerate(line.split(",")) if i != index] for line in lines]
    return "\n".join(",".join(r) for r in rows) + "\n"


def _set_column(lines: list[str], column: str, values: dict[int, str]) -> str:
    index = lines[0].split(",").index(column)
    rows = [line.split(",") for line in lines]
    for row_number, value in values.items():
        rows[row_number][index] = value
    return "\n".join(",".join(r) for r in rows) + "\n"


# --- validate-data ---------------------------------------------------------------------------


@case("vd-missing-file", 2, "nope.csv", "check the path")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["validate-data", "nope.csv", "--no-drift"], {}


@case("vd-empty-file", 2, "e.csv", "empty")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("e.csv", "")
    return ["validate-data", "e.csv", "--no-drift"], {}


@case("vd-binary-garbage", 2, "g.csv", "--encoding")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("g.csv", bytes(range(256)) * 8)
    return ["validate-data", "g.csv", "--no-drift"], {}


@case("vd-truncated-parquet", 2, "g.parquet", "Parquet")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("g.parquet", b"PAR1" + b"\x00" * 64)
    return ["validate-data", "g.parquet", "--no-drift"], {}


@case("vd-empty-folder", 2, "emptydir", "folder")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    (c.project / "emptydir").mkdir()
    return ["validate-data", "emptydir", "--no-drift"], {}


@case("vd-ragged-csv", 2, "r.csv:3", "fields")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("r.csv", "a,b\n1,2\n3,4,5\n")
    return ["validate-data", "r.csv", "--no-drift", "--contract", ""], {}


@case("vd-header-only-fails-gate", 1, "validate-data failed", "0 rows")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("h.csv", c.csv_lines()[0] + "\n")
    return ["validate-data", "h.csv", "--no-drift"], {}


@case("vd-contract-missing", 2, "nope.yaml", "contract path")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["validate-data", "--contract", "nope.yaml", "--no-drift"], {}


@case("vd-contract-is-folder", 2, "data", "contract YAML file")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["validate-data", "--contract", "data", "--no-drift"], {}


@case("vd-reference-wrong-file", 2, "r.json", "patient_id", "contract")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("r.json", "{not json")
    return ["validate-data", "--reference", "r.json"], {}


@case("vd-save-profile-to-folder", 2, "data", "choose another path")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["validate-data", "--save-profile", "data"], {}


@case("vd-unknown-encoding", 2, "bogus-enc", "utf-8")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["validate-data", "--encoding", "bogus-enc"], {}


@case("vd-delimiter-too-long", 2, "--delimiter", "';;'", "at most 1 character")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["validate-data", "--delimiter", ";;"], {}


# --- contract, profile, schema ---------------------------------------------------------------


@case("infer-output-is-folder", 2, "--output", "directory", "--help")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    (c.project / "outdir").mkdir()
    return ["contract", "infer", "data/train.csv", "-o", "outdir"], {}


@case("infer-output-under-a-file", 2, "modelci.yaml", "choose another path")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["contract", "infer", "data/train.csv", "-o", "modelci.yaml/c.yaml"], {}


@case("contract-check-missing", 2, "nope.yaml", "contract path")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["contract", "check", "nope.yaml"], {}


@case("contract-check-bad-yaml", 2, "c.yaml:2", "YAML")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("c.yaml", "columns: [1, 2\n")
    return ["contract", "check", "c.yaml"], {}


@case("contract-check-not-utf8", 2, "c.yaml", "UTF-8")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("c.yaml", "version: 1\ncolumns:\n  caf\xe9: {}\n".encode("latin-1"))
    return ["contract", "check", "c.yaml"], {}


@case("contract-check-folder", 2, "CONTRACT", "directory")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["contract", "check", "data"], {}


@case("contract-check-unknown-dtype", 2, "c.yaml:3", "columns.a.dtype", "complex")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("c.yaml", "version: 1\ncolumns:\n  a: {dtype: complex}\n")
    return ["contract", "check", "c.yaml"], {}


@case("contract-duplicate-column", 2, "c.yaml:4", "'a'", "twice")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("c.yaml", "version: 1\ncolumns:\n  a: {dtype: integer}\n  a: {dtype: string}\n")
    return ["contract", "check", "c.yaml"], {}


@case("profile-missing-file", 2, "nope.csv", "check the path")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["profile", "nope.csv", "-o", "p.npz"], {}


@case("profile-missing-argument", 2, "REFERENCE", "modelci profile --help")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["profile"], {}


@case("schema-unknown-option", 2, "--bogus", "modelci schema --help")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["schema", "--bogus"], {}


# --- modelci.yaml, MODELCI_* and the run folder ----------------------------------------------


@case("yaml-not-utf8", 2, "modelci.yaml", "UTF-8")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("modelci.yaml", "data:\n  path: caf\xe9.csv\n".encode("latin-1"))
    return ["validate-data"], {}


@case("yaml-train-params-not-object", 2, "modelci.yaml", "train.params", "object")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config("params: {max_iter: 500}", "params: 5")
    return ["train"], {}


@case("yaml-compare-confidence-text", 2, "compare.confidence", "number")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config(append="compare:\n  confidence: high\n")
    return ["compare"], {}


@case("yaml-registry-name-list", 2, "registry.model_name", "string")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config("model_name: breast-cancer", "model_name: [a]")
    return ["promote"], {}


@case("yaml-registry-alias-bad", 2, "registry.alias", "9 bad")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config("model_name: breast-cancer", "model_name: breast-cancer\n  alias: 9 bad")
    return ["promote"], {}


@case("yaml-validate-share-text", 2, "validate.drift.share", "number")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config("share: 0.5", "share: lots")
    return ["validate-data"], {}


@case("yaml-not-a-mapping", 2, "modelci.yaml", "mapping")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("modelci.yaml", "- a\n- b\n")
    return ["config", "show"], {}


@case("yaml-unknown-section", 2, "trian", "allowed")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config(append="trian: {}\n")
    return ["config", "check"], {}


@case("yaml-tab-indent", 2, "modelci.yaml:2", "YAML")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("modelci.yaml", "data:\n\tpath: x\n")
    return ["config", "check"], {}


@case("yaml-duplicate-section", 2, "modelci.yaml:", "'data'", "twice")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config(append="data: {}\n")
    return ["config", "check"], {}


@case("config-check-folder", 2, "FILE", "directory")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["config", "check", "data"], {}


@case("env-share-not-number", 2, "MODELCI_VALIDATE__DRIFT__SHARE", "number")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["config", "show"], {"MODELCI_VALIDATE__DRIFT__SHARE": "abc"}


@case("env-unknown-setting", 2, "MODELCI_TRAIN__NOPE", "variable name")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["config", "show"], {"MODELCI_TRAIN__NOPE": "1"}


@case("env-negative-seed", 2, "MODELCI_TRAIN__SEED", "minimum")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train"], {"MODELCI_TRAIN__SEED": "-3"}


@case("env-config-missing", 2, "nope.yaml", "--config")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["config", "show"], {"MODELCI_CONFIG": "nope.yaml"}


@case("env-workdir-is-file", 2, "wf", "--workdir")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("wf", "x")
    return ["validate-data"], {"MODELCI_WORKDIR": "wf"}


@case("env-debug-not-boolean", 2, "--debug", "boolean")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["config", "show"], {"MODELCI_DEBUG": "maybe"}


@case("workdir-flag-is-file", 2, "--workdir", "wf")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("wf", "x")
    return ["--workdir", "wf", "validate-data"], {}


@case("workdir-read-only", 2, "ro", "not writable", "--workdir")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.read_only("ro")
    return ["--workdir", "ro", "validate-data"], {}


@case("manifest-corrupt", 2, "manifest.json", "delete it")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write(".modelci/manifest.json", "{broken")
    return ["train"], {}


@case("manifest-not-object", 2, "manifest.json", "JSON object")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write(".modelci/manifest.json", "[1]")
    return ["compare"], {}


@case("manifest-section-wrong-type", 2, "manifest.json", "train: expected", "delete it")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.manifest(lambda m: m.update(train="oops"))
    return ["promote"], {}


@case("compare-before-train", 2, "manifest.json", "modelci train")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["compare"], {}


@case("promote-before-compare", 1, "no compare decision", "modelci compare")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["promote"], {}


@case("promote-damaged-decision", 2, "compare.decision", "rerun the steps")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.manifest(lambda m: m.update(compare={"passed": True, "decision": 42}))
    return ["promote"], {}


# --- train ------------------------------------------------------------------------------------


@case("train-unknown-estimator", 2, "--estimator", "sklearn.nope", "spelling")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train", "--estimator", "sklearn.nope.Nope"], {}


@case("train-estimator-not-a-class", 2, "--estimator", "not a class")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train", "--estimator", "os.path"], {}


@case("train-param-wrong-type", 2, "--params", "max_iter")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train", "--params", '{"max_iter": "many"}'], {}


@case("train-param-unknown", 2, "--params", "bogus", "valid:")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train", "--params", '{"bogus": 1}'], {}


@case("train-params-not-json", 2, "--params", "JSON")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train", "--params", "{bogus"], {}


@case("train-yaml-param-wrong-type", 2, "train.params", "max_iter")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config("max_iter: 500", "max_iter: lots")
    return ["train"], {}


@case("train-target-missing", 2, "'nope'", "--target")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train", "--target", "nope"], {}


@case("train-single-class", 2, "one.csv", "diagnosis", "single class")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    lines = c.csv_lines()
    c.write("one.csv", _set_column(lines, "diagnosis", dict.fromkeys(range(1, len(lines)), "x")))
    return ["train", "one.csv"], {}


@case("train-header-only", 2, "h.csv", "no rows")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("h.csv", c.csv_lines()[0] + "\n")
    return ["train", "h.csv"], {}


@case("train-metric-of-other-task", 2, "train.metrics", "rmse", "classification")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config(append="  metrics: [rmse]\n")
    return ["train"], {}


@case("train-test-size-too-big", 2, "--test-size", "maximum")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train", "--test-size", "1.5"], {}


@case("train-feature-missing", 2, "train.features", "nope_col")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config(append="  features: [nope_col]\n")
    return ["train"], {}


@case("train-test-file-lacks-columns", 2, "t.csv", "lacks")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("t.csv", "a,b\n1,2\n")
    return ["train", "--test-data", "t.csv"], {}


@case("train-infinite-number", 2, "inf.csv", "infinity", tracked=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("inf.csv", _set_column(c.csv_lines(), "mean_radius", {1: "1e400"}))
    return ["train", "inf.csv", "--cv-folds", "0"], {}


@case("train-command-not-found", 2, "--command", "no-such-binary-xyz", tracked=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train", "--command", "no-such-binary-xyz"], {}


@case("train-read-only-run-folder", 2, "ro", "not writable", "--workdir")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.read_only("ro")
    return ["--workdir", "ro", "train"], {}


@case("train-tracking-unreachable", 3, UNREACHABLE, "MLFLOW_TRACKING_URI", "unreachable")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["train"], {"MLFLOW_TRACKING_URI": UNREACHABLE}


# --- compare and promote ----------------------------------------------------------------------


@case("compare-eval-lacks-feature", 2, "ev.csv", "worst_symmetry", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("ev.csv", _drop_column(c.csv_lines("data/reference.csv"), "worst_symmetry"))
    return ["compare", "--data", "ev.csv"], {}


@case("compare-eval-lacks-target", 2, "nt.csv", "diagnosis", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("nt.csv", _drop_column(c.csv_lines("data/reference.csv"), "diagnosis"))
    return ["compare", "--data", "nt.csv"], {}


@case("compare-eval-header-only", 2, "h.csv", "no rows", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.write("h.csv", c.csv_lines("data/reference.csv")[0] + "\n")
    return ["compare", "--data", "h.csv"], {}


@case("compare-eval-missing", 2, "nope.csv", "check the path", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["compare", "--data", "nope.csv"], {}


@case("compare-alias-points-nowhere", 2, "--production", "'nowhere'", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["compare", "--production", "models:/breast-cancer@nowhere"], {}


@case("compare-candidate-unknown-model", 2, "models:/nothere/7", "models:/ URI", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["compare", "--candidate", "models:/nothere/7"], {}


@case("compare-candidate-empty-folder", 2, "empt", "MLmodel", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    (c.project / "empt").mkdir()
    return ["compare", "--candidate", "empt"], {}


@case("compare-rule-of-other-task", 2, "compare.rules.rmse", "classification", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config(append="compare:\n  rules:\n    rmse: {max_degradation: 0.1}\n")
    return ["compare"], {}


@case("compare-tracking-unreachable", 3, UNREACHABLE, "MLFLOW_TRACKING_URI")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["compare"], {"MLFLOW_TRACKING_URI": UNREACHABLE, **FAST_RETRIES}


@case("promote-version-missing", 2, "version 99", "existing version", trained=True)
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["promote", "--version", "99"], {}


@case("promote-without-registry", 2, "no model registry", "modelci train")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["promote", "--version", "1"], {}


@case("compare-without-train-or-data", 2, "no evaluation set", "--data")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["compare", "--candidate", str(c.project / "data")], {}


@case("promote-tracking-unreachable", 3, UNREACHABLE, "MLFLOW_TRACKING_URI")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    decision = {"passed": True, "candidate": {"version": "1"}, "production": None}
    (c.project / ".modelci" / "compare").mkdir(parents=True, exist_ok=True)
    (c.project / ".modelci" / "compare" / "decision.json").write_text(json.dumps(decision))
    section = {
        "passed": True,
        "summary": "compare passed",
        "candidate": {"version": "1"},
        "decision": "compare/decision.json",
        "decision_sha256": "sha256:0",
    }
    c.manifest(lambda m: m.update(compare=section))
    return ["promote"], {"MLFLOW_TRACKING_URI": UNREACHABLE, **FAST_RETRIES}


# --- pipeline ---------------------------------------------------------------------------------


@case("pipeline-folder-without-config", 2, "emptyproj", "modelci.yaml")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    (c.project / "emptyproj").mkdir()
    return ["pipeline", "emptyproj"], {}


@case("pipeline-unknown-step", 2, "--steps", "nope")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    return ["pipeline", ".", "--steps", "nope"], {}


@case("pipeline-data-missing", 2, "nope.csv", "check the path")
def _(c: Ctx) -> tuple[list[str], dict[str, str]]:
    c.config("path: data/train.csv", "path: data/nope.csv")
    return ["pipeline", "."], {}


# --- the tests ------------------------------------------------------------------------------


def _clean_env(mp: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "GITLAB_", "CI_", "MODELCI_", "RUNNER_", "MLFLOW_")):
            mp.delenv(name, raising=False)
    mp.delenv("CI", raising=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart with one registered model in its run folder (trained once)."""
    from modelci.cli import run

    project = tmp_path_factory.mktemp("trained") / "project"
    shutil.copytree(EXAMPLE, project)
    with pytest.MonkeyPatch.context() as mp:
        _clean_env(mp)
        mp.chdir(project)
        assert run(["train", "--cv-folds", "0"]) == 0
    return project


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_with_the_right_exit(
    case: Case, run_cli: CliRunner, tmp_path: Path, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    source = request.getfixturevalue("trained") if case.trained else EXAMPLE
    project = tmp_path / "project"
    shutil.copytree(source, project)
    monkeypatch.chdir(project)
    argv, env = case.setup(Ctx(project, request))
    before = _files(project)

    started = time.monotonic()
    res = run_cli(*argv, env=env)
    elapsed = time.monotonic() - started

    lines = res.err.strip().splitlines()
    assert res.code == case.code, res.err
    assert len(lines) == 1, res.err
    assert "Traceback" not in res.err
    assert lines[0].startswith("modelci: error: ")
    for word in case.words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    # Nothing half-written: no temporary files left, and an input error records nothing.
    after = _files(project)
    assert not [p for p in after if p.name.endswith(".tmp")]
    if case.code != 1:
        records = {"manifest.json", "report.json"} | (set() if case.tracked else {"mlflow.db"})
        new = {p for p in after - before if p.name in records}
        assert not new, f"left behind: {sorted(map(str, new))}"
    if case.code == 3:
        assert elapsed < 20, f"unreachable server took {elapsed:.1f}s"


# --- awkward but valid input: read as meant, silently ----------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "columns"),
    [
        ("bom-crlf.csv", "\ufeffa,b\r\n1,x\r\n2,y\r\n".encode(), ["a", "b"]),
        ("unicode.csv", "naïve,größe,日本\n1,2,x\n3,4,y\n".encode(), ["naïve", "größe", "日本"]),
        ("huge.csv", b"big,wide\n1e308,99999999999999999999999999\n2,3\n", ["big", "wide"]),
    ],
)
def test_awkward_csv_is_read_as_meant(
    name: str, data: bytes, columns: list[str], run_cli: CliRunner, in_tmp: Path
) -> None:
    import yaml

    (in_tmp / name).write_bytes(data)
    res = run_cli("contract", "infer", name, "-o", "c.yaml")
    assert res.code == 0, res.err
    assert res.err == ""
    contract = yaml.safe_load((in_tmp / "c.yaml").read_text(encoding="utf-8"))
    assert list(contract["columns"]) == columns
