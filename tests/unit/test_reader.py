"""modelci.data.reader: what reads, and how each kind of bad input is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelci import progress as progress_mod
from modelci.data import Dataset, dataset_digest, read_dataset, resolve_files
from modelci.errors import DataError


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def refused(spec: str | Path, *words: str, line: int | None = None, **options: object) -> str:
    """Read ``spec``, expect a one-line DataError holding ``words`` and naming ``line``."""
    with pytest.raises(DataError) as caught:
        read_dataset(spec, **options)  # type: ignore[arg-type]
    error = caught.value
    message = str(error)
    assert "\n" not in message
    assert error.exit_code == 2
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert error.line == line, message
    if line is not None:
        assert f":{line}: " in message
    return message


@pytest.fixture
def parts(tmp_path: Path) -> Path:
    """A Spark-like folder: hive partitions, a _SUCCESS marker and a hidden checksum file."""
    root = tmp_path / "table"
    for year, start in ((2023, 0), (2024, 3)):
        folder = root / f"year={year}"
        folder.mkdir(parents=True)
        table = pa.table({"x": [start, start + 1, start + 2], "y": [0.5, 1.5, 2.5]})
        pq.write_table(table, folder / "part-0.parquet")
        write(folder / ".part-0.parquet.crc", b"crc")
    write(root / "_SUCCESS", b"")
    write(root / "_temporary" / "junk.parquet", b"not parquet")
    return root


# ----------------------------------------------------------------- valid input


def test_csv_types_are_inferred_and_empty_numbers_are_null(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv",
        "i,f,b,t,s,n\n1,0.5,true,2024-01-02 03:04:05,x,\n2,1e3,false,2024-01-03 00:00:00,y,7\n",
    )
    data = read_dataset(path)
    assert isinstance(data, Dataset)
    assert data.format == "csv"
    assert data.rows == 2
    assert data.columns == ["i", "f", "b", "t", "s", "n"]
    types = data.table.schema.types
    assert pa.types.is_integer(types[0])
    assert pa.types.is_floating(types[1])
    assert pa.types.is_boolean(types[2])
    assert pa.types.is_timestamp(types[3])
    assert pa.types.is_string(types[4])
    assert data.table.column("n").to_pylist() == [None, 7]
    assert data.table.column("t").to_pylist()[0] == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert data.files == (path,)
    assert data.source == str(path)
    assert data.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_header_only_is_valid_with_zero_rows(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "h.csv", "a,b,c\n"))
    assert (data.rows, data.columns) == (0, ["a", "b", "c"])
    bare = read_dataset(write(tmp_path / "bare.csv", "a,b,c"))
    assert (bare.rows, bare.columns) == (0, ["a", "b", "c"])


def test_bom_is_stripped(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "bom.csv", b"\xef\xbb\xbfid,name\n1,\xc3\xa9\n"))
    assert data.columns == ["id", "name"]
    assert data.table.column("name").to_pylist() == ["é"]


@pytest.mark.parametrize("ending", ["\r\n", "\r", "\n"], ids=["crlf", "cr", "lf"])
def test_line_endings(tmp_path: Path, ending: str) -> None:
    text = ending.join(["a,b", "1,x", '2,"two', 'lines"', "3,z"]) + ending
    data = read_dataset(write(tmp_path / "e.csv", text))
    assert data.table.column("a").to_pylist() == [1, 2, 3]
    assert data.table.column("b").to_pylist() == ["x", f"two{ending}lines", "z"]


def test_other_delimiter_encoding_and_tsv(tmp_path: Path) -> None:
    semi = write(tmp_path / "s.csv", "a;b\n1;2\n")
    assert read_dataset(semi, delimiter=";").columns == ["a", "b"]
    latin = write(tmp_path / "l.csv", "name,n\ncaf\xe9,1\n".encode("latin-1"))
    assert read_dataset(latin, encoding="latin-1").table.column("name").to_pylist() == ["café"]
    tsv = write(tmp_path / "t.tsv", "a\tb\n1\t2\n")
    assert read_dataset(tsv).columns == ["a", "b"]


def test_infer_types_false_keeps_text(tmp_path: Path) -> None:
    path = write(tmp_path / "z.csv", 'zip,v\n08123,""\n00001,NA\n')
    table = read_dataset(path, infer_types=False).table
    assert table.column("zip").to_pylist() == ["08123", "00001"]
    assert table.column("v").to_pylist() == ["", "NA"]


def test_columns_limit_the_read(tmp_path: Path, parts: Path) -> None:
    csv_data = read_dataset(write(tmp_path / "c.csv", "a,b,c\n1,2,3\n"), columns=["c", "a"])
    assert sorted(csv_data.columns) == ["a", "c"]
    pq_data = read_dataset(parts, columns=["y", "year"])
    assert pq_data.columns == ["y", "year"]


def test_folder_of_parquet_parts_with_hive_partitions(parts: Path) -> None:
    data = read_dataset(parts)
    assert data.format == "parquet"
    assert [p.relative_to(parts).as_posix() for p in data.files] == [
        "year=2023/part-0.parquet",
        "year=2024/part-0.parquet",
    ]
    assert data.columns == ["x", "y", "year"]
    assert data.table.column("x").to_pylist() == [0, 1, 2, 3, 4, 5]
    assert data.table.column("year").to_pylist() == [2023] * 3 + [2024] * 3
    assert data.digest == dataset_digest(list(data.files), parts)


def test_glob_of_parts(tmp_path: Path) -> None:
    for i in range(3):
        pq.write_table(pa.table({"v": [i]}), tmp_path / f"part-{i}.parquet")
    write(tmp_path / "notes.md", "not data")
    data = read_dataset(str(tmp_path / "part-*.parquet"))
    assert data.table.column("v").to_pylist() == [0, 1, 2]
    assert data.source == str(tmp_path / "part-*.parquet")


def test_parquet_found_by_magic_bytes_and_csv_parts(tmp_path: Path) -> None:
    pq.write_table(pa.table({"v": [1, 2]}), tmp_path / "blob")
    files, fmt = resolve_files(tmp_path / "blob")
    assert (files, fmt) == ([tmp_path / "blob"], "parquet")
    assert read_dataset(tmp_path / "blob").rows == 2
    folder = tmp_path / "csvs"
    write(folder / "b.csv", "a,b\n3,4.5\n")
    write(folder / "a.csv", "a,b\n1,2\n")
    data = read_dataset(folder)
    assert data.format == "csv"
    assert data.table.column("a").to_pylist() == [1, 3]
    assert data.table.column("b").to_pylist() == [2.0, 4.5]


# ----------------------------------------------------------------- bad input


def test_missing_file(tmp_path: Path) -> None:
    refused(tmp_path / "nope.csv", "nope.csv", "no such file")


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "_SUCCESS", b"")
    refused(tmp_path / "empty", "no data files")


def test_glob_matching_nothing(tmp_path: Path) -> None:
    refused(str(tmp_path / "part-*.parquet"), "matches no files")


def test_directory_given_as_csv(tmp_path: Path) -> None:
    (tmp_path / "train.csv" / "_tmp").mkdir(parents=True)
    refused(tmp_path / "train.csv", "train.csv", "is a folder", "no data files", format="csv")


def test_folder_with_an_unknown_file(tmp_path: Path) -> None:
    pq.write_table(pa.table({"v": [1]}), tmp_path / "p.parquet")
    write(tmp_path / "README.md", "hello")
    refused(tmp_path, "README.md", "neither CSV", "glob")


def test_mixed_formats(tmp_path: Path) -> None:
    pq.write_table(pa.table({"v": [1]}), tmp_path / "p.parquet")
    write(tmp_path / "c.csv", "v\n1\n")
    refused(str(tmp_path / "*"), "mixes CSV", "Parquet")


def test_empty_file(tmp_path: Path) -> None:
    refused(write(tmp_path / "e.csv", b""), "empty (0 bytes)")


def test_whitespace_only_file(tmp_path: Path) -> None:
    refused(write(tmp_path / "w.csv", " \n\t\r\n  \n"), "only whitespace")


def test_no_header(tmp_path: Path) -> None:
    refused(write(tmp_path / "n.csv", "1,2.5,3\n4,5,6\n"), "no header", "1, 2.5, 3", line=1)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("a;b;c\n1;2;3\n", "--delimiter ';'"), ("a\tb\n1\t2\n", "--delimiter '\\t'")],
    ids=["semicolon", "tab"],
)
def test_wrong_delimiter(tmp_path: Path, text: str, shown: str) -> None:
    refused(write(tmp_path / "d.csv", text), "one column", shown, line=1)


def test_wrong_delimiter_with_decimal_commas(tmp_path: Path) -> None:
    # European exports: ';' between fields, ',' inside numbers. Read with ',' the rows
    # would look ragged; the header check names the real cause first.
    refused(write(tmp_path / "eu.csv", "a;b\n1,5;2\n"), "--delimiter ';'", line=1)


def test_undecodable_bytes_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", b'a,b\n1,"x\ny"\n2,caf\xe9\n3,z\n')
    refused(path, "not valid utf-8", "0xe9", "--encoding", line=4)


def test_undecodable_bytes_in_a_number_column(tmp_path: Path) -> None:
    # pyarrow would keep this column as binary instead of failing.
    refused(write(tmp_path / "n.csv", b"a,b\n1,2\n3,4\xff\n"), "not valid utf-8", line=3)


def test_utf16_file_read_as_utf8_suggests_utf16(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", "a,b\n1,x\n".encode("utf-16"))
    refused(path, "not valid utf-8", "--encoding utf-16", line=1)
    assert read_dataset(path, encoding="utf-16").table.to_pylist() == [{"a": 1, "b": "x"}]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"delimiter": ";;"}, ["one character", "';;'"]),
        ({"format": "xls"}, ["unknown format 'xls'", "auto, csv or parquet"]),
    ],
    ids=["delimiter", "format"],
)
def test_bad_options(tmp_path: Path, options: dict[str, str], words: list[str]) -> None:
    refused(write(tmp_path / "a.csv", "a\n1\n"), *words, **options)


def test_unknown_encoding(tmp_path: Path) -> None:
    refused(write(tmp_path / "a.csv", "a\n1\n"), "unknown encoding", encoding="klingon")


@pytest.mark.parametrize(
    ("text", "line", "got"),
    [
        ("a,b\n1,2\n3,4,5\n6,7\n", 3, "3 fields"),
        ("a,b\n1,2\n3,4\n5\n", 4, "1 field "),
        ('a,b\n1,"multi\nline\nvalue"\n2,3,4\n', 5, "3 fields"),
        ("a,b\r1,2\r3,4,5\r", 3, "3 fields"),
    ],
    ids=["more", "fewer", "after-multiline-value", "cr-only"],
)
def test_ragged_rows(tmp_path: Path, text: str, line: int, got: str) -> None:
    refused(write(tmp_path / "r.csv", text), got, "header has 2", line=line)


def test_duplicate_column_names(tmp_path: Path) -> None:
    refused(write(tmp_path / "d.csv", "a,b,a\n1,2,3\n"), "'a' appears twice", "1 and 3", line=1)


def test_empty_column_name(tmp_path: Path) -> None:
    refused(write(tmp_path / "e.csv", "a,,c,\n1,2,3,4\n"), "no name for column(s) 2, 4", line=1)


def test_title_row(tmp_path: Path) -> None:
    refused(write(tmp_path / "t.csv", "Sales report,,\na,b,c\n1,2,3\n"), "title", line=1)


def test_unterminated_quote(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", 'a,b\n1,2\n3,"open\n4,5\n6,7\n')
    refused(path, "never closed", line=3)


def test_stray_quote(tmp_path: Path) -> None:
    refused(write(tmp_path / "s.csv", 'a,b\n1,"x" y"\n2,3\n'), "stray quote", line=2)


def test_quote_inside_unquoted_value_is_accepted(tmp_path: Path) -> None:
    # An odd quote count alone is no proof of damage: 5'3" is a valid unquoted value.
    data = read_dataset(write(tmp_path / "h.csv", "name,height\nann,5'3\"\n"))
    assert data.table.column("height").to_pylist() == ["5'3\""]


def test_csv_named_parquet(tmp_path: Path) -> None:
    path = write(tmp_path / "d.parquet", "a,b\n1,2\n")
    refused(path, "not a Parquet file", "CSV", "--format csv")


def test_empty_parquet(tmp_path: Path) -> None:
    refused(write(tmp_path / "d.parquet", b""), "empty (0 bytes)")


def test_truncated_parquet(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"v": list(range(1000))}), good)
    cut = write(tmp_path / "cut.parquet", good.read_bytes()[: good.stat().st_size // 2])
    refused(cut, "truncated", "footer")


def test_corrupt_parquet_pages(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(
        pa.table({"v": [f"value {i}" for i in range(5000)]}),
        good,
        compression="snappy",
        use_dictionary=False,
    )
    data = bytearray(good.read_bytes())
    # Overwrite the middle of the data page, leaving magic bytes and footer intact.
    middle = len(data) // 3
    data[middle : middle + 64] = b"\xff" * 64
    refused(write(tmp_path / "bad.parquet", bytes(data)), "bad.parquet", "corrupt Parquet")


def test_incompatible_parquet_parts(tmp_path: Path) -> None:
    pq.write_table(pa.table({"v": [1], "w": [1]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"v": ["x"], "w": [2]}), tmp_path / "b.parquet")
    refused(tmp_path, "b.parquet", "column 'v' is string", "int64", "one schema")


def test_parquet_parts_with_other_columns(tmp_path: Path) -> None:
    pq.write_table(pa.table({"v": [1], "w": [1]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"v": [2]}), tmp_path / "b.parquet")
    refused(tmp_path, "b.parquet", "missing: w", "same columns")


def test_missing_requested_column(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "a,b\n1,2\n")
    refused(path, "no column 'zz'", "a, b", columns=["a", "zz"])
    pq.write_table(pa.table({"a": [1]}), tmp_path / "p.parquet")
    refused(tmp_path / "p.parquet", "no column 'zz'", columns=["zz"])


_READ_AS_NOBODY = """
import sys
from modelci.data import read_dataset
from modelci.errors import DataError
try:
    read_dataset(sys.argv[1])
except DataError as error:
    print(error)
    sys.exit(error.exit_code)
"""


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv is missing")
    command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable]
    probe = subprocess.run(
        [*command, "-c", "import modelci.data"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("the unprivileged user cannot import modelci from this checkout")
    return subprocess.run(
        [*command, "-c", _READ_AS_NOBODY, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("locked", ["file", "folder"])
def test_unreadable_file(locked: str) -> None:
    # pytest's tmp_path lives in a root-only folder; this one must be reachable by others.
    base = Path(tempfile.mkdtemp(prefix="modelci-perm-"))
    try:
        base.chmod(0o755)
        path = write(base / "inner" / "secret.csv", "a\n1\n")
        (path if locked == "file" else path.parent).chmod(0)
        if os.geteuid() != 0:
            refused(path, "permission denied")
            return
        # root reads anything: prove the refusal as an unprivileged user.
        result = _as_nobody(str(path))
        assert result.returncode == 2, result.stderr
        assert "permission denied" in result.stdout
        assert result.stdout.startswith(str(path))
        assert result.stdout.count("\n") == 1
    finally:
        (base / "inner").chmod(0o755)
        shutil.rmtree(base)


# ----------------------------------------------------------------- progress bar


def test_progress_is_silent_in_ci_and_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("CI", "true")
    assert not progress_mod.enabled(stream=Tty())
    monkeypatch.delenv("CI")
    assert progress_mod.enabled(stream=Tty())
    assert not progress_mod.enabled(stream=io.StringIO())
    quiet = io.StringIO()
    with progress_mod.progress(10**9, "x", stream=quiet) as bar:
        bar.update(10**9)
    assert quiet.getvalue() == ""


def test_forced_progress_draws_to_the_stream() -> None:
    out = io.StringIO()
    with progress_mod.progress(4 * 1024 * 1024, "reading d.csv", force=True, stream=out) as bar:
        bar.update(2 * 1024 * 1024)
    text = out.getvalue()
    assert text.startswith("\rreading d.csv [")
    assert "100% of 4 MiB" in text
    assert text.endswith("\n")


def test_read_dataset_with_forced_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read_dataset(write(tmp_path / "p.csv", "a\n1\n"), progress=True)
    assert "100%" in capsys.readouterr().err
    read_dataset(write(tmp_path / "q.csv", "a\n1\n"), progress=False)
    assert capsys.readouterr().err == ""


def test_bad_part_among_good_ones_is_named(tmp_path: Path) -> None:
    pq.write_table(pa.table({"v": [1]}), tmp_path / "part-0.parquet")
    write(tmp_path / "part-1.parquet", b"PAR1 but nothing else")
    refused(tmp_path, "part-1.parquet", "truncated")
