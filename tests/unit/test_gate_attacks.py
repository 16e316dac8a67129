"""The gate against someone who can edit the run folder (an artifact between CI jobs), and
against the careless defaults that made it pass every time. One test per finding of the
attack on the gate; each failed on the code before the evidence moved into the registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import CliRunner
from tests.unit.compare_support import MODEL, alias_version, project, version_tags

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

RUN = ".modelci"


def _read(base: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((base / RUN / name).read_text(encoding="utf-8"))
    return data


def _write(base: Path, name: str, data: dict[str, Any]) -> None:
    (base / RUN / name).write_text(json.dumps(data, indent=2), encoding="utf-8")


def _compare(base: Path, run_cli: CliRunner, *args: str, env: dict[str, str] | None = None) -> int:
    return run_cli("compare", "--resamples", "300", *args, env=env).code


def test_1_flipping_passed_after_a_failed_compare_does_not_promote(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, champion="2", candidate="1")
    assert _compare(in_tmp, run_cli) == 1
    manifest = _read(in_tmp, "manifest.json")
    manifest["compare"]["passed"] = True
    manifest["compare"]["summary"] = "compare passed"
    _write(in_tmp, "manifest.json", manifest)
    result = run_cli("promote")
    assert result.code == 1
    assert alias_version(in_tmp) == "2"
    # the decision file itself, flipped: its digest no longer matches the registry's record
    decision = _read(in_tmp, "compare/decision.json")
    decision["passed"] = True
    _write(in_tmp, "compare/decision.json", decision)
    result = run_cli("promote")
    assert result.code == 1
    assert "not the one compare recorded in the registry" in result.err
    assert alias_version(in_tmp) == "2"


def test_2_the_string_false_is_not_a_pass(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="2", candidate="1")
    assert _compare(in_tmp, run_cli) == 1
    decision = _read(in_tmp, "compare/decision.json")
    decision["passed"] = "false"
    _write(in_tmp, "compare/decision.json", decision)
    result = run_cli("promote")
    assert result.code == 1
    assert "'passed' must be JSON true or false, not 'false'" in result.err
    assert alias_version(in_tmp) == "2"


def test_3_a_fabricated_decision_without_a_compare_does_not_promote(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, champion="2", candidate="1")
    registered = version_tags(in_tmp, "1")["modelci.model.digest"]
    fake = {
        "passed": True,
        "summary": "compare passed",
        "candidate": {"name": MODEL, "version": "1", "digest": registered},
        "production": {"name": MODEL, "version": "2", "alias": "champion", "digest": "x"},
    }
    (in_tmp / RUN / "compare").mkdir()
    _write(in_tmp, "compare/decision.json", fake)
    manifest = _read(in_tmp, "manifest.json")
    # a well-formed section: the manifest's schema accepts it, the registry has no verdict
    manifest["compare"] = {
        "passed": True,
        "summary": "compare passed",
        "candidate": {"name": MODEL, "version": "1", "digest": registered},
        "decision": "compare/decision.json",
        "decision_sha256": "sha256:" + "0" * 64,
    }
    _write(in_tmp, "manifest.json", manifest)
    result = run_cli("promote")
    assert result.code == 1
    assert "compare recorded no verdict on it in the registry" in result.err
    assert alias_version(in_tmp) == "2"
    # an ill-typed one does not even parse (counting more records than promote's own copy in
    # promote/, so it is the manifest read: the newest wins)
    manifest["compare"]["passed"] = 1
    manifest["records"] = 99
    _write(in_tmp, "manifest.json", manifest)
    result = run_cli("promote")
    assert result.code == 2
    assert "compare.passed: expected boolean, got 1" in result.err
    assert alias_version(in_tmp) == "2"


def test_4_a_swapped_model_folder_is_not_judged(in_tmp: Path, run_cli: CliRunner) -> None:
    import mlflow.artifacts

    from modelci.registry.store import using

    project(in_tmp, champion="1", candidate="2", local_model=True)
    folder = in_tmp / RUN / "train" / "model"
    shutil.rmtree(folder)
    with using(f"sqlite:///{in_tmp / 'mlflow.db'}"):
        # another model's folder in the place of the registered candidate's
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{MODEL}/3", dst_path=str(folder))
    result = run_cli("compare")
    assert result.code == 1
    assert "is not bc version 2" in result.err
    assert "modelci.compare.passed" not in version_tags(in_tmp, "2")
    assert not (in_tmp / RUN / "compare" / "decision.json").exists()


class _Listener(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str | None]]] = []

    def _record(self) -> None:
        type(self).requests.append((self.path, self.headers.get("Authorization")))
        self.send_response(404)
        self.end_headers()

    do_GET = do_POST = do_PATCH = _record

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, type[_Listener]]]:
    handler = type("Recorder", (_Listener,), {"requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def test_5_the_run_folder_does_not_choose_the_registry(
    in_tmp: Path, run_cli: CliRunner, listener: tuple[str, type[_Listener]]
) -> None:
    url, recorder = listener
    project(in_tmp, champion="1", candidate="2")
    manifest = _read(in_tmp, "manifest.json")
    manifest["train"]["tracking_uri"] = url
    _write(in_tmp, "manifest.json", manifest)
    env = {"MLFLOW_TRACKING_TOKEN": "canary-token-5"}
    assert _compare(in_tmp, run_cli, env=env) == 0
    assert run_cli("promote", env=env).code == 0
    assert recorder.requests == []  # neither step went there, so no token went there
    assert alias_version(in_tmp) == "2"


def test_5_a_copied_run_folder_cannot_promote_in_another_registry(
    tmp_path: Path, run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    project(first, champion="1", candidate="2")
    monkeypatch.chdir(first)
    assert _compare(first, run_cli) == 0
    project(second, champion="1", candidate="2")  # its own registry, same model name
    shutil.rmtree(second / RUN)
    shutil.copytree(first / RUN, second / RUN)
    monkeypatch.chdir(second)
    result = run_cli("promote")
    assert result.code == 1
    assert "compare recorded no verdict on it in the registry" in result.err
    assert alias_version(second) == "1"
    assert alias_version(first) == "1"


def _read_only(folder: Path) -> list[str]:
    """A command prefix that runs with ``folder`` mounted read-only (a private mount
    namespace for root, who ignores file modes), or ``[]`` after chmod for other users."""
    if os.geteuid() != 0:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o555)
        return []
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && shift && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, str(folder), "_"]


def test_6_a_read_only_run_folder_fails_before_production_changes(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, champion="1", candidate="2")
    assert _compare(in_tmp, run_cli) == 0
    prefix = _read_only(in_tmp / RUN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELCI_", "GITHUB_"))}
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "modelci", "promote"],
        cwd=in_tmp, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "not writable" in done.stderr and "Traceback" not in done.stderr
    assert alias_version(in_tmp) == "1"
    assert "modelci.promote.action" not in version_tags(in_tmp, "2")


def test_9_a_registry_in_the_run_folder_is_refused_in_ci(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="1", candidate="2")
    (in_tmp / "modelci.yaml").write_text("version: 1\nregistry: {model_name: bc}\n")
    for step in ("compare", "promote"):
        result = run_cli(step, env={"GITHUB_ACTIONS": "true"})
        assert result.code == 2, result.err
        assert "MLFLOW_TRACKING_URI" in result.err
        assert "registry.ephemeral: true" in result.err
        assert result.err.count("\n") == 1


def test_9_a_pass_without_production_is_a_warning_not_a_silent_green(
    in_tmp: Path, run_cli: CliRunner, tmp_path: Path
) -> None:
    project(in_tmp, champion=None, candidate="2")
    summary = tmp_path / "summary.md"
    summary.write_text("")
    result = run_cli("compare", env={"MODELCI_CI": "github", "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 0, result.err
    assert "::warning title=modelci compare%3A production model exists::" in result.out
    assert "no production model to compare with" in summary.read_text()
