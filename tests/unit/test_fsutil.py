"""fsutil: written files get the mode the umask gives; reads refuse what is not a file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelci import fsutil


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask")
def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    assert mode(fsutil.write_text(tmp_path / "a.txt", "x")) == 0o644
    assert mode(fsutil.write_bytes(tmp_path / "b.bin", b"x")) == 0o644
    assert mode(fsutil.write_json(tmp_path / "c.json", {})) == 0o644
    os.umask(0o077)
    assert mode(fsutil.write_text(tmp_path / "d.txt", "x")) == 0o600
    os.umask(0o002)
    # replacing a file gives the new one the umask's mode too
    assert mode(fsutil.write_text(tmp_path / "a.txt", "y")) == 0o664


def test_open_regular_refuses_a_fifo_and_a_folder_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(fsutil.NotRegularFile) as caught:
        fsutil.open_regular(tmp_path / "pipe")
    assert caught.value.kind == "FIFO (named pipe)"
    with pytest.raises(fsutil.NotRegularFile, match="is a folder"):
        fsutil.read_regular_text(tmp_path)
    (tmp_path / "f.txt").write_text("é", encoding="utf-8")
    assert fsutil.read_regular_text(tmp_path / "f.txt") == "é"
    with pytest.raises(FileNotFoundError):
        fsutil.open_regular(tmp_path / "missing")
