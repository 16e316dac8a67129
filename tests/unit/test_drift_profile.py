"""Reference profiles: what is profiled, the saved file, and refusal of bad files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from modelci.drift import build_profile, detect_drift, is_profile, load_profile, save_profile
from modelci.drift.profile import FORMAT, VERSION
from modelci.errors import DataError

SETTINGS = {
    "share": 0.5,
    "bins": 10,
    "numeric": {"ks": 0.05, "psi": 0.2, "wasserstein": 0.1},
    "categorical": {"chi2": 0.05, "psi": 0.2, "jensenshannon": 0.1},
}


def _tables(rows: int = 2_000) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(11)

    def make(shift: float) -> pa.Table:
        x = rng.normal(shift, 1, rows)
        x[rng.random(rows) < 0.05] = np.nan
        city = rng.choice(["Oslo", "Lima", "Pune", "Kyiv"], rows).astype(object)
        city[rng.random(rows) < 0.03] = None
        return pa.table(
            {
                "x": x,
                "n": pa.array(rng.integers(0, 50, rows), pa.int32()),
                "price": pa.array(np.round(rng.gamma(2, 10, rows), 2)).cast(pa.decimal128(12, 2)),
                "city": pa.array(city, pa.string()).dictionary_encode(),
                "ok": rng.random(rows) < 0.4 + shift / 10,
                "when": pa.array(np.arange(rows), pa.timestamp("s")),
                "label": pa.array(rng.integers(0, 3, rows)),
            }
        )

    return make(0.0), make(0.4)


def test_build_profile_kinds_from_arrow_types() -> None:
    ref, _ = _tables()
    profile = build_profile(ref, source="ref.parquet", digest="sha256:abc")
    assert profile.kinds == {
        "x": "numeric",
        "n": "numeric",
        "price": "numeric",
        "city": "categorical",
        "ok": "categorical",
        "label": "numeric",
    }  # the timestamp column is left out
    assert profile.rows == ref.num_rows
    x = profile.columns["x"]
    finite = ref.column("x").to_numpy()
    finite = finite[np.isfinite(finite)]
    assert x.count == finite.size
    assert x.nulls == ref.num_rows - finite.size
    assert x.std == pytest.approx(np.std(finite), rel=1e-12)
    city = profile.columns["city"]
    assert city.categories.to_pylist() == ["Kyiv", "Lima", "Oslo", "Pune"]
    assert city.count + city.nulls == ref.num_rows
    assert profile.columns["ok"].categories.to_pylist() == ["false", "true"]


def test_kinds_override_and_unknown_column() -> None:
    ref, _ = _tables(200)
    profile = build_profile(ref, kinds={"label": "categorical"})
    assert profile.columns["label"].kind == "categorical"
    assert profile.columns["label"].categories.to_pylist() == ["0", "1", "2"]
    with pytest.raises(DataError, match="'nope'"):
        build_profile(ref, kinds={"nope": "numeric"}, source="ref.csv")


def test_round_trip_gives_identical_results(tmp_path: Path) -> None:
    ref, cur = _tables()
    profile = build_profile(ref, source="data/ref.parquet", digest="sha256:0123")
    path = save_profile(profile, tmp_path / "sub" / "reference.mprof")
    assert path.exists()
    assert is_profile(path)
    loaded = load_profile(path)
    assert loaded.source == "data/ref.parquet"
    assert loaded.digest == "sha256:0123"
    assert loaded.rows == profile.rows
    assert loaded.created == profile.created
    assert loaded.kinds == profile.kinds
    for name, col in profile.columns.items():
        other = loaded.columns[name]
        assert (other.count, other.nulls) == (col.count, col.nulls)
        if col.ecdf is not None:
            assert other.ecdf is not None
            np.testing.assert_array_equal(other.ecdf.values, col.ecdf.values)
            np.testing.assert_array_equal(other.ecdf.counts, col.ecdf.counts)
            assert other.ecdf.integer == col.ecdf.integer
        else:
            assert other.categories.equals(col.categories)
            np.testing.assert_array_equal(other.counts, col.counts)

    direct = detect_drift(profile, cur, SETTINGS)
    via_file = detect_drift(loaded, cur, SETTINGS)
    assert [c.stats for c in via_file.columns] == [c.stats for c in direct.columns]
    assert [c.drifted for c in via_file.columns] == [c.drifted for c in direct.columns]
    assert via_file.dataset_drift == direct.dataset_drift


def test_unusual_category_strings_survive(tmp_path: Path) -> None:
    values = ["", "trailing\x00", "ünï cödé", 'a,b;"c"', "x" * 5000]
    table = pa.table({"c": pa.array(values * 3, pa.large_string())})
    loaded = load_profile(save_profile(build_profile(table), tmp_path / "p.mprof"))
    assert sorted(loaded.columns["c"].categories.to_pylist()) == sorted(values)
    assert loaded.columns["c"].counts.tolist() == [3] * 5


def test_empty_and_all_null_columns_round_trip(tmp_path: Path) -> None:
    table = pa.table(
        {"x": pa.array([None, None], pa.float64()), "c": pa.array([None, None], pa.string())}
    )
    loaded = load_profile(save_profile(build_profile(table), tmp_path / "p.mprof"))
    assert loaded.columns["x"].count == 0
    assert loaded.columns["x"].nulls == 2
    assert loaded.columns["c"].count == 0


def _write_npz(path: Path, meta: object, **arrays: np.ndarray) -> Path:
    raw = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with path.open("wb") as handle:
        members: dict[str, Any] = {"meta": raw, **arrays}
        np.savez(handle, **members)
    return path


def _meta(**overrides: object) -> dict[str, object]:
    meta: dict[str, object] = {
        "format": FORMAT,
        "version": VERSION,
        "created": "2026-01-01T00:00:00Z",
        "source": "",
        "digest": None,
        "rows": 3,
        "columns": [{"name": "x", "kind": "numeric", "count": 3, "nulls": 0, "std": 0.8}],
    }
    meta.update(overrides)
    return meta


GOOD_ARRAYS = {"c0.values": np.array([1.0, 2.0]), "c0.counts": np.array([1, 2], dtype=np.int64)}


def test_hand_written_valid_file_loads(tmp_path: Path) -> None:
    path = _write_npz(tmp_path / "ok.npz", _meta(), **GOOD_ARRAYS)
    assert load_profile(path).columns["x"].count == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"col_a,col_b\n1,2\n", "not a modelci drift profile"),
        (b"", "not a modelci drift profile"),
        (b"PK\x03\x04 this is not really a zip", "damaged or truncated"),
    ],
)
def test_garbage_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.mprof"
    path.write_bytes(content)
    assert not is_profile(path)
    with pytest.raises(DataError, match=message) as info:
        load_profile(path)
    assert str(path) in str(info.value)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    ref, _ = _tables(500)
    path = save_profile(build_profile(ref), tmp_path / "p.mprof")
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) - 30):
        broken = tmp_path / f"cut{cut}.mprof"
        broken.write_bytes(data[:cut])
        with pytest.raises(DataError, match=r"cut\d+\.mprof: .*(damaged|truncated|not a modelci)"):
            load_profile(broken)


def test_wrong_version_is_refused_but_recognised(tmp_path: Path) -> None:
    path = _write_npz(tmp_path / "v2.mprof", _meta(version=2), **GOOD_ARRAYS)
    assert is_profile(path)  # recognised as ours, so the user is told to rebuild it
    with pytest.raises(DataError, match="version 2 is not supported"):
        load_profile(path)


@pytest.mark.parametrize(
    ("meta", "arrays", "message"),
    [
        (_meta(format="other"), GOOD_ARRAYS, "format mark"),
        (_meta(columns="x"), GOOD_ARRAYS, "column list"),
        (
            _meta(),
            {"c0.values": np.array([2.0, 1.0]), "c0.counts": np.array([1, 2], dtype=np.int64)},
            "invalid distribution",
        ),
        (
            _meta(),
            {"c0.values": np.array([1.0, 2.0]), "c0.counts": np.array([1, -2], dtype=np.int64)},
            "non-positive counts",
        ),
        (_meta(), {"c0.values": np.array([1.0, 2.0])}, "damaged or truncated"),
        (
            _meta(),
            {"c0.values": np.array(["a", "b"]), "c0.counts": np.array([1, 2], dtype=np.int64)},
            "damaged or truncated",
        ),
    ],
)
def test_inconsistent_content_is_refused(
    tmp_path: Path, meta: dict[str, object], arrays: dict[str, np.ndarray], message: str
) -> None:
    path = _write_npz(tmp_path / "bad.mprof", meta, **arrays)
    with pytest.raises(DataError, match=message):
        load_profile(path)


def test_pickled_arrays_are_never_loaded(tmp_path: Path) -> None:
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    meta = io.BytesIO()
    np.save(meta, np.frombuffer(json.dumps(_meta()).encode(), dtype=np.uint8))
    path = tmp_path / "p.mprof"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.npy", meta.getvalue())
        archive.writestr("c0.values.npy", pickled.getvalue())
        archive.writestr("c0.counts.npy", pickled.getvalue())
    assert is_profile(path)
    with pytest.raises(DataError, match=r"damaged or truncated.*Object arrays cannot be loaded"):
        load_profile(path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read the drift profile"):
        load_profile(tmp_path / "absent.mprof")
    assert not is_profile(tmp_path / "absent.mprof")


def test_is_profile_ignores_other_npz(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3))
    assert not is_profile(path)
