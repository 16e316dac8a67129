"""`modelci promote`: the alias moves only on evidence compare recorded; rollback means
rollback; dry run; what is recorded, and that a failed record leaves production as it was."""

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
    "MODELCI_CI": "github",
}


def _manifest(base: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (base / ".modelci" / "manifest.json").read_text(encoding="utf-8")
    )
    return data


def _compared(base: Path, run_cli: CliRunner, *, champion: str | None, candidate: str) -> int:
    """A project where compare really ran (v1 is weak, v2 strong): its exit code."""
    project(base, champion=champion, candidate=candidate)
    return run_cli("compare", "--resamples", "300").code


def test_promote_moves_the_alias_after_a_passed_compare_and_records_who_what_when(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    assert _compared(in_tmp, run_cli, champion="1", candidate="2") == 0
    result = run_cli("promote", env=CI_ENV)
    assert result.code == 0, result.err
    assert "promoted bc@champion: version 1 → 2" in result.out
    assert alias_version(in_tmp) == "2"
    tags = version_tags(in_tmp, "2")
    assert tags["modelci.promote.action"] == "promote"
    assert tags["modelci.promote.by"] == "octocat"
    assert tags["modelci.promote.commit"] == CI_ENV["GITHUB_SHA"]
    assert tags["modelci.promote.run_url"] == "https://github.example/acme/models/actions/runs/4242"
    assert tags["modelci.promote.previous"] == "1"
    assert tags["modelci.promote.at"].endswith("Z")
    assert tags["modelci.promote.compare"].startswith("compare passed")
    assert "promote by octocat (from version 1)" in tags["modelci.history.champion"]
    old = version_tags(in_tmp, "1")
    assert old["modelci.replaced.champion"].startswith("2 at ")
    # the version that was there before modelci moved the alias now has a history too
    assert "replaced by version 2" in old["modelci.history.champion"]
    manifest = _manifest(in_tmp)
    assert manifest["promote"]["version"] == "2"
    assert manifest["promote"]["previous_version"] == "1"
    assert manifest["promote"]["decision_sha256"] == manifest["compare"]["decision_sha256"]
    assert manifest["steps"]["promote"]["passed"] is True


def test_promote_refuses_when_compare_failed(in_tmp: Path, run_cli: CliRunner) -> None:
    assert _compared(in_tmp, run_cli, champion="2", candidate="1") == 1
    result = run_cli("promote")
    assert result.code == 1
    assert "not promoting: compare failed: accuracy may be worse" in result.err
    assert alias_version(in_tmp) == "2"
    assert "modelci.promote.action" not in version_tags(in_tmp, "1")


def test_promote_refuses_without_a_compare_decision(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="1", candidate="2")
    result = run_cli("promote")
    assert result.code == 1
    assert "no compare decision in the manifest" in result.err
    assert alias_version(in_tmp) == "1"


def test_dry_run_shows_the_change_and_makes_none(in_tmp: Path, run_cli: CliRunner) -> None:
    assert _compared(in_tmp, run_cli, champion="1", candidate="2") == 0
    result = run_cli("promote", "--dry-run")
    assert result.code == 0, result.err
    assert "dry run: would move bc@champion from version 1 to version 2" in result.out
    assert alias_version(in_tmp) == "1"
    assert "modelci.promote.action" not in version_tags(in_tmp, "2")


def test_first_promotion_sets_the_alias(in_tmp: Path, run_cli: CliRunner) -> None:
    assert _compared(in_tmp, run_cli, champion=None, candidate="1") == 0
    result = run_cli("promote")
    assert result.code == 0, result.err
    assert alias_version(in_tmp) == "1"
    assert "modelci.promote.previous" not in version_tags(in_tmp, "1")


def test_rollback_puts_back_a_version_that_served_before(in_tmp: Path, run_cli: CliRunner) -> None:
    assert _compared(in_tmp, run_cli, champion="1", candidate="2") == 0
    assert run_cli("promote").code == 0
    result = run_cli("promote", "--version", "1", env={"CI_COMMIT_SHA": "feedbeef",
                                                      "MODELCI_CI": "gitlab"})  # fmt: skip
    assert result.code == 0, result.err
    assert "rolled back bc@champion: version 2 → 1" in result.out
    assert alias_version(in_tmp) == "1"
    tags = version_tags(in_tmp, "1")
    assert tags["modelci.promote.action"] == "rollback"
    assert tags["modelci.promote.previous"] == "2"
    assert tags["modelci.promote.commit"] == "feedbeef"
    assert "modelci.promote.compare" not in tags


def test_a_forward_rollback_to_a_version_that_never_served_is_refused(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    # v3 never served and compare never passed it: --version is not a way around the gate
    project(in_tmp, champion="1", candidate="2")
    result = run_cli("promote", "--version", "3")
    assert result.code == 1
    assert "never served behind 'champion' and passed no compare" in result.err
    assert "--force --reason" in result.err
    assert alias_version(in_tmp) == "1"
    # a version that failed compare is no better
    assert _compared(in_tmp, run_cli, champion="2", candidate="1") == 1
    failed = run_cli("promote", "--version", "1")
    assert failed.code == 1
    assert "version 1 never served" in failed.err
    assert alias_version(in_tmp) == "2"


def test_force_needs_a_reason_and_records_it_with_the_actor(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    project(in_tmp, champion="1", candidate="2")
    no_reason = run_cli("promote", "--version", "3", "--force")
    assert no_reason.code == 2
    assert "--reason" in no_reason.err
    assert alias_version(in_tmp) == "1"
    forced = run_cli(
        "promote", "--version", "3", "--force", "--reason", "hotfix INC-42", env=CI_ENV
    )
    assert forced.code == 0, forced.err
    assert alias_version(in_tmp) == "3"
    tags = version_tags(in_tmp, "3")
    assert tags["modelci.promote.action"] == "forced"
    assert tags["modelci.promote.reason"] == "hotfix INC-42"
    assert tags["modelci.promote.by"] == "octocat"
    assert _manifest(in_tmp)["promote"]["reason"] == "hotfix INC-42"


def test_rollback_to_a_missing_version_is_an_input_error(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="2")
    result = run_cli("promote", "--version", "99")
    assert result.code == 2
    assert "registered model 'bc' has no version 99" in result.err
    assert alias_version(in_tmp) == "2"


def test_a_manifest_with_a_section_this_modelci_does_not_know_is_refused(
    in_tmp: Path, run_cli: CliRunner
) -> None:
    assert _compared(in_tmp, run_cli, champion="1", candidate="2") == 0
    manifest = _manifest(in_tmp)
    manifest["signature"] = {"bundle": "sign/model.sig"}
    (in_tmp / ".modelci" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = run_cli("promote")
    assert result.code == 2
    assert "unknown key 'signature'" in result.err
    assert alias_version(in_tmp) == "1"


def test_a_record_that_fails_after_the_alias_moved_puts_production_back(
    in_tmp: Path, run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _compared(in_tmp, run_cli, champion="1", candidate="2") == 0
    before = {v: version_tags(in_tmp, v) for v in ("1", "2")}

    from modelci.runfolder import RunFolder

    def full_disk(self: RunFolder, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise OSError(28, "No space left on device", str(self.manifest_path))

    monkeypatch.setattr(RunFolder, "record", full_disk)
    result = run_cli("promote")
    assert result.code == 2
    assert "No space left on device" in result.err
    assert alias_version(in_tmp) == "1"
    assert {v: version_tags(in_tmp, v) for v in ("1", "2")} == before
