"""The reader against other projects' test corpora (see shared/corpora/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modelci.data import read_dataset
from modelci.errors import DataError
from tests.conftest import REPO


def _corpora() -> Path:
    # shared/ sits beside the checkout (CI clones next to it); /work/shared on developer machines
    for candidate in (REPO.parent / "shared" / "corpora", Path("/work/shared/corpora")):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "corpora"


CORPORA = _corpora()
SPECTRUM = CORPORA / "csv-spectrum"
CSVLINT = CORPORA / "csvlint-fixtures"
BAD_PARQUET = CORPORA / "parquet-bad-data"

# In CI the corpora must be there: a silent skip would hide a whole class of checks.
pytestmark = pytest.mark.skipif(
    not CORPORA.is_dir() and not os.environ.get("CI"), reason="corpora not present"
)

# Where the corpus itself disagrees with its JSON, the CSV is the truth being read:
# upstream's location_coordinates.json carries another phone number than its CSV.
SPECTRUM_ERRATA: dict[str, dict[str, str]] = {
    "location_coordinates": {"Contact Phone Number": "2095257564"},
}


def _spectrum_names() -> list[str]:
    return sorted(p.stem for p in (SPECTRUM / "csvs").glob("*.csv"))


def _expected(name: str, raw: bytes) -> list[dict[str, Any]]:
    expected = json.loads((SPECTRUM / "json" / f"{name}.json").read_text("utf-8"))
    rows: list[dict[str, Any]] = expected if isinstance(expected, list) else [expected]
    for row in rows:
        row.update(SPECTRUM_ERRATA.get(name, {}))
        if b"\r" not in raw:
            # This copy of the *_crlf files lost its CRs; values hold what the bytes hold.
            for key, value in row.items():
                row[key] = value.replace("\r\n", "\n")
    return rows


@pytest.mark.parametrize("name", _spectrum_names())
def test_csv_spectrum_reads_as_its_json(name: str) -> None:
    path = SPECTRUM / "csvs" / f"{name}.csv"
    # Typed read: must not be refused.
    typed = read_dataset(path)
    # Text read: values compare with the JSON, which holds strings ("08123" keeps its 0).
    text = read_dataset(path, infer_types=False)
    expected = _expected(name, path.read_bytes())
    assert text.table.to_pylist() == expected
    assert typed.rows == len(expected)
    assert typed.columns == list(expected[0])


def test_csv_spectrum_empty_values() -> None:
    # empty.csv is not header-only: two rows, with empty quoted strings in the first.
    data = read_dataset(SPECTRUM / "csvs" / "empty.csv")
    assert data.rows == 2
    assert data.table.column("a").to_pylist() == [1, 2]
    # An empty value in a numeric column is null.
    assert data.table.column("b").to_pylist() == [None, 3]


VALID_CSVLINT = {
    "cr-line-endings.csv": ["Foo", "Bar", "Baz"],
    "crlf-line-endings.csv": ["Foo", "Bsr", "Baz"],
    "inconsistent-line-endings.csv": ["Foo", "Bsr", "Baz"],
    "inconsistent-line-endings-unquoted.csv": ["Foo", "Bsr", "Baz"],
    "lf-line-endings.csv": ["Foo", "Bsr", "Baz"],
    "windows-line-endings.csv": ["a", "b", "c"],
}


@pytest.mark.parametrize("name", sorted(VALID_CSVLINT))
def test_csvlint_line_ending_variants_read(name: str) -> None:
    data = read_dataset(CSVLINT / name)
    assert data.columns == VALID_CSVLINT[name]
    if name.startswith("windows"):
        assert data.table.to_pylist() == [{"a": "d", "b": "e", "c": "f"}]
    else:
        assert data.table.column(0).to_pylist() == ["Biff", "Qux"]
        assert data.table.column(2).to_pylist() == ["Boff", "Doge"]


@pytest.mark.parametrize(("name", "rows"), [("valid.csv", 2), ("valid_many_rows.csv", 6)])
def test_csvlint_valid_files_read(name: str, rows: int) -> None:
    data = read_dataset(CSVLINT / name)
    assert data.rows == rows
    assert data.table.column("Foo").to_pylist()[:2] == [1, 3]


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("invalid-byte-sequence.csv", 1, ["not valid utf-8", "0xf3", "--encoding"]),
        ("invalid_many_rows.csv", 4, ["stray quote"]),
        ("title-row.csv", 1, ["title", "delete that line"]),
    ],
)
def test_csvlint_invalid_files_refused(name: str, line: int, words: list[str]) -> None:
    path = CSVLINT / name
    with pytest.raises(DataError) as caught:
        read_dataset(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: ")
    assert "\n" not in message
    for word in words:
        assert word in message


def test_csvlint_invalid_bytes_with_the_right_encoding() -> None:
    # Decoded as latin-1 the text is fine; what remains is the delimiter ending every line,
    # which leaves the 7th column without a name.
    with pytest.raises(DataError, match=r"invalid-byte-sequence.csv:1: .*column\(s\) 7"):
        read_dataset(CSVLINT / "invalid-byte-sequence.csv", encoding="latin-1")


# Each read runs in its own interpreter with a timeout: fuzzed files crash or hang
# careless readers, and a crash must fail this test, not kill the test run.
_READ = """
import sys
from modelci.data import read_dataset
from modelci.errors import DataError
try:
    data = read_dataset(sys.argv[1])
except DataError as error:
    print(error)
    sys.exit(error.exit_code)
print(f"read {data.rows} rows")
"""

# ARROW-GH-43605 is not corrupt: RLE dictionary indices with bit width 0 are how writers
# encode a column whose values are all one dictionary entry (parquet-mr reads it with its
# ZeroIntegerValuesReader); it crashed the Go reader, and Arrow C++ reads it correctly.
READABLE_BAD_DATA = {"ARROW-GH-43605.parquet": 21186}


@pytest.mark.parametrize("name", sorted(p.name for p in BAD_PARQUET.glob("*.parquet")))
def test_parquet_bad_data(name: str) -> None:
    path = BAD_PARQUET / name
    result = subprocess.run(
        [sys.executable, "-c", _READ, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode in (0, 2), f"crashed ({result.returncode}): {result.stderr[-2000:]}"
    if name in READABLE_BAD_DATA:
        assert result.returncode == 0, result.stdout
        assert result.stdout == f"read {READABLE_BAD_DATA[name]} rows\n"
        return
    assert result.returncode == 2, result.stdout
    assert result.stdout.startswith(f"{path}: ")
    assert result.stdout.count("\n") == 1
    assert "Parquet" in result.stdout
    assert result.stderr == ""


def test_parquet_bad_data_all_seen() -> None:
    assert len(list(BAD_PARQUET.glob("*.parquet"))) == 8
