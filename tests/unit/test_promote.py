"""`modelci promote`: alias moves only after a passed compare; rollback; dry run; tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner
from tests.unit.compare_support import alias_version, project, version_tags

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

CI_ENV = {
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "acme/models",
    "GITHUB_RUN_ID": "4242",
}


def _compare(passed: bool, version: str = "2") -> dict[str, Any]:
    verdict = "compare passed: all good" if passed else "compare failed: worse on accuracy"
    return {
        "compare": {
            "passed": passed,
            "summary": verdict,
            "candidate": {"uri": f"models:/bc/{version}", "version": version},
        }
    }


def _manifest(base: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (base / ".modelci" / "manifest.json").read_text(encoding="utf-8")
    )
    return data


def test_promote_moves_the_alias_after_a_passed_compare_and_records_who_what_when(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, champion="1", candidate="2", manifest_extra=_compare(True))
    result = run_cli("promote", env=CI_ENV)
    assert result.code == 0, result.err
    assert alias_version(in_tmp) == "2"
    tags = version_tags(in_tmp, "2")
    assert tags["modelci.action"] == "promote"
    assert tags["modelci.by"] == "octocat"
    assert tags["modelci.commit"] == CI_ENV["GITHUB_SHA"]
    assert tags["modelci.ci_run_url"] == "https://github.example/acme/models/actions/runs/4242"
    assert tags["modelci.previous_version"] == "1"
    assert tags["modelci.at"].endswith("Z")
    assert tags["modelci.compare"] == "compare passed: all good"
    assert version_tags(in_tmp, "1")["modelci.replaced_behind_champion"].startswith("2 at ")
    manifest = _manifest(in_tmp)
    assert manifest["promote"]["version"] == "2"
    assert manifest["promote"]["previous_version"] == "1"
    assert manifest["steps"]["promote"]["passed"] is True


def test_promote_refuses_when_compare_failed(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="1", candidate="2", manifest_extra=_compare(False))
    result = run_cli("promote")
    assert result.code == 1
    assert "not promoting: compare failed: worse on accuracy" in result.err
    assert alias_version(in_tmp) == "1"
    assert "modelci.action" not in version_tags(in_tmp, "2")


def test_promote_refuses_without_a_compare_decision(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="1", candidate="2")
    result = run_cli("promote")
    assert result.code == 1
    assert "no compare decision in the manifest" in result.err
    assert alias_version(in_tmp) == "1"


def test_dry_run_shows_the_change_and_makes_none(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="1", candidate="2", manifest_extra=_compare(True))
    result = run_cli("promote", "--dry-run")
    assert result.code == 0, result.err
    assert "dry run: would move bc@champion from version 1 to version 2" in result.out
    assert alias_version(in_tmp) == "1"
    assert "modelci.action" not in version_tags(in_tmp, "2")


def test_first_promotion_sets_the_alias(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion=None, candidate="1", manifest_extra=_compare(True, "1"))
    result = run_cli("promote")
    assert result.code == 0, result.err
    assert alias_version(in_tmp) == "1"
    assert "modelci.previous_version" not in version_tags(in_tmp, "1")


def test_rollback_puts_an_earlier_version_back_without_a_compare(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, champion="2", candidate="2", manifest_extra=_compare(False))
    result = run_cli("promote", "--version", "1", env={"CI_COMMIT_SHA": "feedbeef"})
    assert result.code == 0, result.err
    assert alias_version(in_tmp) == "1"
    tags = version_tags(in_tmp, "1")
    assert tags["modelci.action"] == "rollback"
    assert tags["modelci.previous_version"] == "2"
    assert tags["modelci.commit"] == "feedbeef"
    assert "modelci.compare" not in tags


def test_rollback_to_a_missing_version_is_an_input_error(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="2")
    result = run_cli("promote", "--version", "99")
    assert result.code == 2
    assert "registered model 'bc' has no version 99" in result.err
    assert alias_version(in_tmp) == "2"


def test_a_recorded_signature_that_cannot_be_verified_blocks_promotion(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    extra = {**_compare(True), "sign": {"bundle": "sign/model.sig"}}
    project(in_tmp, champion="1", candidate="2", manifest_extra=extra)
    result = run_cli("promote")
    assert result.code == 1
    assert "records a signature but this modelci cannot verify it" in result.err
    assert alias_version(in_tmp) == "1"
