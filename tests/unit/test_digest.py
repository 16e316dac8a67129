"""modelci.data.digest: content digests stable across runs, listing order and locations."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from modelci.data import dataset_digest, read_dataset
from modelci.data.digest import CHUNK, file_sha256


def make_folder(root: Path) -> list[Path]:
    files = []
    for name, data in (("a.csv", b"x,y\n1,2\n"), ("sub/b.csv", b"x,y\n3,4\n"), ("c.csv", b"x,y\n")):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(path)
    return files


def test_single_file_is_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    # Spans several chunks, with a partial last one, to exercise the streaming.
    data = os.urandom(2 * CHUNK + 123)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    assert dataset_digest([path]) == expected
    seen: list[int] = []
    assert file_sha256(path, lambda chunk: seen.append(len(chunk))) == expected[7:]
    assert seen == [CHUNK, CHUNK, 123]


def test_same_bytes_same_digest(tmp_path: Path) -> None:
    first = make_folder(tmp_path / "one")
    second = make_folder(tmp_path / "two")
    one = dataset_digest(first, tmp_path / "one")
    assert one == dataset_digest(second, tmp_path / "two")
    assert one.startswith("sha256:")
    assert len(one) == len("sha256:") + 64
    assert one == dataset_digest(first, tmp_path / "one")


def test_listing_order_does_not_matter(tmp_path: Path) -> None:
    files = make_folder(tmp_path)
    assert dataset_digest(files, tmp_path) == dataset_digest(list(reversed(files)), tmp_path)


def test_canonical_listing_format(tmp_path: Path) -> None:
    files = make_folder(tmp_path)
    listing = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(tmp_path).as_posix()}\n"
        for p in sorted(files, key=lambda p: p.relative_to(tmp_path).as_posix())
    )
    expected = "sha256:" + hashlib.sha256(listing.encode()).hexdigest()
    assert dataset_digest(files, tmp_path) == expected


def test_one_byte_changed_changes_the_digest(tmp_path: Path) -> None:
    files = make_folder(tmp_path)
    before = dataset_digest(files, tmp_path)
    files[1].write_bytes(b"x,y\n3,5\n")
    assert dataset_digest(files, tmp_path) != before
    assert dataset_digest([files[1]]) != dataset_digest([files[0]])


def test_renaming_a_file_changes_the_digest(tmp_path: Path) -> None:
    files = make_folder(tmp_path)
    before = dataset_digest(files, tmp_path)
    renamed = files[2].with_name("d.csv")
    files[2].rename(renamed)
    assert dataset_digest([files[0], files[1], renamed], tmp_path) != before


def test_moving_the_folder_keeps_the_digest(tmp_path: Path) -> None:
    files = make_folder(tmp_path / "here")
    before = dataset_digest(files, tmp_path / "here")
    # Default root (the files' common folder) is also location independent.
    assert dataset_digest(files) == before
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.move(tmp_path / "here", moved)
    moved_files = sorted(p for p in moved.rglob("*") if p.is_file())
    assert dataset_digest(moved_files, moved) == before
    assert dataset_digest(moved_files) == before


def test_read_dataset_digest_matches_and_survives_a_move(tmp_path: Path) -> None:
    make_folder(tmp_path / "data")
    data = read_dataset(tmp_path / "data")
    assert data.digest == dataset_digest(list(data.files), tmp_path / "data")
    shutil.move(tmp_path / "data", tmp_path / "moved")
    assert read_dataset(tmp_path / "moved").digest == data.digest
    assert read_dataset(str(tmp_path / "moved" / "**" / "*.csv")).digest == data.digest


def test_no_files_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one file"):
        dataset_digest([])
