"""A registry store that cannot be written (a read-only file or folder, a full disk) is one
line naming the store and what to do, exit 2, instead of MLflow's eighty-line traceback and
exit 3 (issue 10 §2). Compare and promote open the registry; train's store is opened by
train's own code (see the report)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.unit.compare_support import alias_version, project, version_tags

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0, reason="mount namespaces (a read-only bind mount, a tiny tmpfs) need root"
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MODELCI_", "GITHUB_", "GITLAB_", "CI_", "MLFLOW_"))}  # fmt: skip
    env.pop("CI", None)
    return env


def _in_namespace(
    script: str, target: Path, argv: list[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a private mount namespace prepared by ``script`` (``$0`` is target)."""
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", f"{script} && shift && exec \"$@\"", str(target), "_",
         *argv],
        cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0"'
#: the store's folder on a 2 MB file system, filled up after the database is copied in
FULL_DISK = (
    'cp "$0/mlflow.db" /tmp/.modelci-full-disk.db && mount -t tmpfs -o size=2m tmpfs "$0" && '
    'cp /tmp/.modelci-full-disk.db "$0/mlflow.db" && '
    '{ dd if=/dev/zero of="$0/filler" bs=1k 2>/dev/null || true; }'
)


def _one_line(done: subprocess.CompletedProcess[str], store: Path, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "sqlalchemy" not in done.stderr.lower()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"modelci: error: MLflow store sqlite:///{store}")
    for word in words:
        assert word in lines[0], lines[0]


def _store_in_folder(base: Path) -> Path:
    """The project's registry moved into a folder of its own (what gets mounted)."""
    folder = base / "store"
    folder.mkdir()
    shutil.move(base / "mlflow.db", folder / "mlflow.db")
    text = (base / "modelci.yaml").read_text()
    (base / "modelci.yaml").write_text(
        text.replace(str(base / "mlflow.db"), str(folder / "mlflow.db"))
    )
    return folder


@ROOT_ONLY
def test_compare_on_a_read_only_store_file(in_tmp: Path) -> None:
    project(in_tmp, champion="1", candidate="2")
    store = in_tmp / "mlflow.db"
    done = _in_namespace(READ_ONLY, store, [sys.executable, "-m", "modelci", "compare",
                                           "--resamples", "200"], in_tmp)  # fmt: skip
    _one_line(done, store, "is read-only", "writable", "modelci.yaml: registry.tracking_uri")
    assert "modelci.compare.passed" not in version_tags(in_tmp, "2")
    assert not (in_tmp / ".modelci" / "compare" / "report.json").exists()


def test_promote_on_a_read_only_store_folder(in_tmp: Path, run_cli: CliRunner) -> None:
    project(in_tmp, champion="1", candidate="2")
    assert run_cli("compare", "--resamples", "200").code == 0
    folder = _store_in_folder(in_tmp)
    argv = [sys.executable, "-m", "modelci", "promote"]
    if os.geteuid() == 0:
        done = _in_namespace(READ_ONLY, folder, argv, in_tmp)
    else:
        for path in (folder, folder / "mlflow.db"):
            path.chmod(0o555 if path.is_dir() else 0o444)
        done = subprocess.run(argv, cwd=in_tmp, env=_env(), capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip
    _one_line(done, folder / "mlflow.db", "writable")
    (in_tmp / "mlflow.db").symlink_to(folder / "mlflow.db")  # where alias_version looks
    assert alias_version(in_tmp) == "1"
    assert not (in_tmp / ".modelci" / "promote" / "report.json").exists()


@ROOT_ONLY
def test_compare_on_a_full_disk(in_tmp: Path) -> None:
    project(in_tmp, champion="1", candidate="2")
    folder = _store_in_folder(in_tmp)
    done = _in_namespace(FULL_DISK, folder, [sys.executable, "-m", "modelci", "compare",
                                             "--resamples", "200"], in_tmp)  # fmt: skip
    _one_line(done, folder / "mlflow.db", "full disk", "free disk space")


def test_store_errors_are_recognised_whatever_the_store() -> None:
    from modelci.errors import InputError
    from modelci.registry.connection import store_error
    from modelci.registry.location import Location

    remote = Location("https://user:pw@mlflow.example/", "MLFLOW_TRACKING_URI", ephemeral=False)
    found = store_error(remote, RuntimeError("(sqlite3.OperationalError) database or disk is full"))
    assert isinstance(found, InputError) and found.exit_code == 2
    assert "pw" not in found.message and "set MLFLOW_TRACKING_URI to another store" in found.message
    assert store_error(remote, RuntimeError("Connection refused")) is None
