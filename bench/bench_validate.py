"""validate-data against its peers: modelci vs pandera vs Great Expectations, same checks.

    .venv-bench/bin/python bench/bench_validate.py [--rows 5000000] [--tools modelci,pandera,gx]

Builds (seeded, cached under bench/.data/) a Parquet file of ROWS x 20 columns and one
data contract of about 45 checks; translates that contract into a pandera DataFrameSchema
and a Great Expectations suite; runs each tool in a fresh subprocess that reads the
Parquet and validates it, and reports wall time (read + validate, imports excluded), the
RSS the work added on top of the interpreter baseline after imports, and the peak.
Targets: modelci >= 5x faster than pandera, >= 20x faster than GE, and the memory modelci
adds <= 1.5x the in-memory size of the data (Arrow table.nbytes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / ".data"
SEED = 20240611

COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "NO", "DK",
             "PL", "PT", "IE", "BE", "AT", "CH", "CA", "AU", "JP", "BR"]  # fmt: skip
PLANS = ["free", "pro", "team", "enterprise"]
CHANNELS = ["web", "ios", "android"]
SEGMENTS = ["a", "b", "c", "d", "e", "f", "g", "h"]
DEVICES = ["phone", "tablet", "desktop", "tv", "watch"]
EMAIL_REGEX = r"[a-z0-9._-]+@[a-z0-9.-]+\.[a-z]{2,}"

#: the one contract every tool checks (pandera and GE get translations of it below)
CONTRACT: dict[str, Any] = {
    "version": 1,
    "columns": {
        "id": {"dtype": "integer", "nullable": False},
        "age": {"dtype": "integer", "nullable": False, "min": 18, "max": 90},
        "income": {"dtype": "float", "max_null_share": 0.05},
        "score": {"dtype": "float", "nullable": False, "min": 0.0, "max": 1.0},
        "balance": {"dtype": "float"},
        "n_orders": {"dtype": "integer", "min": 0, "max": 500},
        "tenure_days": {"dtype": "integer"},
        "rating": {"dtype": "integer", "min": 1, "max": 5},
        "lat": {"dtype": "float"},
        "lon": {"dtype": "float"},
        "discount": {"dtype": "float", "max_null_share": 0.1},
        "weight": {"dtype": "float"},
        "is_active": {"dtype": "boolean", "nullable": False},
        "signup": {"dtype": "datetime"},
        "country": {"dtype": "string", "nullable": False, "allowed": COUNTRIES},
        "plan": {"dtype": "string", "allowed": PLANS},
        "channel": {"dtype": "string", "allowed": CHANNELS},
        "segment": {"dtype": "string"},
        "device": {"dtype": "string", "max_null_share": 0.02},
        "email": {"dtype": "string", "nullable": False, "regex": EMAIL_REGEX, "unique": True},
    },
    "table": {
        "rows": {"min": 1, "max": 100_000_000},
        "primary_key": ["id"],
        "no_duplicate_rows": True,
        "unexpected_columns": "fail",
    },
}
#: the pandas dtype each contract dtype has after pandas.read_parquet (for pandera and GE)
PANDAS_DTYPES = {
    "integer": {"n_orders": "int32"},
    "default": {"integer": "int64", "float": "float64", "boolean": "bool",
                "datetime": "datetime64[us]", "string": "str"},
}  # fmt: skip


def count_checks(contract: dict[str, Any]) -> int:
    n = 0
    for rules in contract["columns"].values():
        n += sum(
            1
            for key in ("dtype", "min", "max", "allowed", "regex", "max_null_share")
            if key in rules
        )
        n += int(rules.get("nullable") is False) + int(bool(rules.get("unique")))
    table = contract["table"]
    n += sum(
        1
        for key in ("rows", "primary_key", "no_duplicate_rows", "unexpected_columns")
        if key in table
    )
    return n


# --- data ------------------------------------------------------------------------------------


def make_data(rows: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import yaml

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    (DATA_DIR / ".gitignore").write_text("*\n")  # a cache: never committed
    path = DATA_DIR / f"validate-{rows}.parquet"
    (DATA_DIR / "contract.yaml").write_text(yaml.safe_dump(CONTRACT, sort_keys=False))
    if path.exists():
        return path
    rng = np.random.default_rng(SEED)

    def with_nulls(values: Any, share: float) -> pa.Array:
        return pa.array(values, mask=rng.random(rows) < share)

    def pick(options: list[str], share: float = 0.0) -> pa.Array:
        chosen = pc.take(pa.array(options), pa.array(rng.integers(0, len(options), rows)))
        return (
            chosen if share == 0 else pc.if_else(pa.array(rng.random(rows) < share), None, chosen)
        )

    ids = rng.permutation(rows).astype(np.int64)
    start = np.datetime64("2015-01-01T00:00:00", "us").astype(np.int64)
    end = np.datetime64("2024-12-31T00:00:00", "us").astype(np.int64)
    emails = pc.binary_join_element_wise(
        "user", pc.cast(pa.array(ids), pa.string()), "@example.com", ""
    )
    table = pa.table(
        {
            "id": ids,
            "age": rng.integers(18, 91, rows),
            "income": with_nulls(rng.lognormal(10, 1, rows), 0.02),
            "score": rng.random(rows),
            "balance": rng.normal(1000, 500, rows),
            "n_orders": rng.integers(0, 501, rows).astype(np.int32),
            "tenure_days": rng.integers(0, 4000, rows),
            "rating": rng.integers(1, 6, rows),
            "lat": rng.uniform(-90, 90, rows),
            "lon": rng.uniform(-180, 180, rows),
            "discount": with_nulls(rng.uniform(0, 0.5, rows), 0.05),
            "weight": rng.normal(70, 12, rows),
            "is_active": rng.random(rows) < 0.7,
            "signup": pa.array(rng.integers(start, end, rows), pa.timestamp("us")),
            "country": pick(COUNTRIES),
            "plan": pick(PLANS),
            "channel": pick(CHANNELS),
            "segment": pick(SEGMENTS),
            "device": pick(DEVICES, 0.01),
            "email": emails,
        }
    )
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


# --- the tools, each run in a child process ----------------------------------------------------


#: phase timings of the child process, reported with its result
TIMES: dict[str, float] = {}


def _rss_mib(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_modelci(data: Path, contract_path: Path) -> tuple[int, int, float, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from modelci.contract.checks import run_checks
    from modelci.contract.model import load_contract

    # like pandera's schema and GE's suite, the contract is built before the clock starts
    contract = load_contract(contract_path)
    # and like their imports, pyarrow's own lazy ones: its first pa.array() imports pandas
    # (when installed) to recognise pandas objects, ~0.5 s that is not validation
    pa.array([0])
    baseline = _rss_mib("VmRSS")
    start = time.perf_counter()
    # read as modelci.data.parquetfile reads Parquet: column chunk by column chunk
    with pq.ParquetFile(data, pre_buffer=False, memory_map=False) as parquet:
        table = parquet.read(use_threads=True)
    TIMES["read"] = time.perf_counter() - start
    checks = run_checks(contract, table, file=data.name)
    elapsed = time.perf_counter() - start
    failed = [c for c in checks if not c.passed]
    for check in failed:
        print(f"modelci failed: {check.name}: {check.message}", file=sys.stderr)
    return len(checks), len(failed), elapsed, baseline


def _pandas_dtype(name: str, rules: dict[str, Any]) -> str:
    return PANDAS_DTYPES["integer"].get(name) or PANDAS_DTYPES["default"][rules["dtype"]]


def run_pandera(data: Path, contract: dict[str, Any]) -> tuple[int, int, float, float]:
    import pandas as pd
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    columns: dict[str, Any] = {}
    n_checks = 0
    for name, rules in contract["columns"].items():
        checks = []
        if "min" in rules:
            checks.append(pa.Check.ge(_pd_bound(rules, rules["min"])))
        if "max" in rules:
            checks.append(pa.Check.le(_pd_bound(rules, rules["max"])))
        if "allowed" in rules:
            checks.append(pa.Check.isin(rules["allowed"]))
        if "regex" in rules:
            checks.append(pa.Check.str_matches(f"^(?:{rules['regex']})$"))
        if "max_null_share" in rules:
            share = rules["max_null_share"]
            checks.append(
                pa.Check(lambda s, share=share: s.isna().mean() <= share, ignore_na=False)
            )
        columns[name] = pa.Column(
            _pandas_dtype(name, rules),
            checks=checks,
            nullable=rules.get("nullable", True),
            unique=bool(rules.get("unique", False)),
            required=True,
        )
        n_checks += 1 + len(checks) + int(rules.get("nullable") is False) + int("unique" in rules)
    table = contract["table"]
    low, high = table["rows"]["min"], table["rows"]["max"]
    schema = pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(lambda df: low <= len(df) <= high, name="rows"),
            pa.Check(lambda df: ~df.duplicated(), name="no_duplicate_rows"),
        ],
        unique=table["primary_key"],
        strict=True,
    )
    n_checks += 4
    baseline = _rss_mib("VmRSS")
    start = time.perf_counter()
    frame = pd.read_parquet(data)
    TIMES["read"] = time.perf_counter() - start
    failed = 0
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        failed = len(exc.failure_cases)
        print(f"pandera failed:\n{exc.failure_cases.head(20)}", file=sys.stderr)
    elapsed = time.perf_counter() - start
    return n_checks, failed, elapsed, baseline


def _pd_bound(rules: dict[str, Any], value: Any) -> Any:
    if rules["dtype"] == "datetime":
        import pandas as pd

        return pd.Timestamp(value)
    return value


#: GE's default result format: counts and a partial list of unexpected values per
#: expectation, the same information a modelci Check carries (observed count, examples)
GX_RESULT_FORMAT = os.environ.get("BENCH_GX_RESULT_FORMAT", "SUMMARY")


def run_gx(data: Path, contract: dict[str, Any]) -> tuple[int, int, float, float]:
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # no network here; and a benchmark
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    expectations: list[Any] = []
    for name, rules in contract["columns"].items():
        expectations.append(
            gxe.ExpectColumnValuesToBeOfType(column=name, type_=_pandas_dtype(name, rules))
        )
        if rules.get("nullable") is False:
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=name))
        if "max_null_share" in rules:
            expectations.append(
                gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=1 - rules["max_null_share"])
            )
        if "min" in rules:
            expectations.append(
                gxe.ExpectColumnMinToBeBetween(
                    column=name, min_value=_pd_bound(rules, rules["min"])
                )
            )
        if "max" in rules:
            expectations.append(
                gxe.ExpectColumnMaxToBeBetween(
                    column=name, max_value=_pd_bound(rules, rules["max"])
                )
            )
        if "allowed" in rules:
            expectations.append(
                gxe.ExpectColumnValuesToBeInSet(column=name, value_set=rules["allowed"])
            )
        if "regex" in rules:
            expectations.append(
                gxe.ExpectColumnValuesToMatchRegex(column=name, regex=f"^(?:{rules['regex']})$")
            )
        if rules.get("unique"):
            expectations.append(gxe.ExpectColumnValuesToBeUnique(column=name))
    table = contract["table"]
    names = list(contract["columns"])
    expectations += [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=table["rows"]["min"], max_value=table["rows"]["max"]
        ),
        gxe.ExpectColumnValuesToBeUnique(column=table["primary_key"][0]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=names),
        gxe.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True),
    ]
    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_pandas("bench")
        .add_dataframe_asset("data")
        .add_batch_definition_whole_dataframe("all")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="contract"))
    for expectation in expectations:
        suite.add_expectation(expectation)
    baseline = _rss_mib("VmRSS")
    start = time.perf_counter()
    frame = pd.read_parquet(data)
    TIMES["read"] = time.perf_counter() - start
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format=GX_RESULT_FORMAT)
    elapsed = time.perf_counter() - start
    failed = [r for r in result.results if not r.success]
    for item in failed:
        config = item.expectation_config
        print(
            f"gx failed: {config.type} {config.kwargs.get('column')}: {item.exception_info}",
            file=sys.stderr,
        )
    return len(expectations), len(failed), elapsed, baseline


def child(tool: str, data: Path) -> None:
    contract_path = DATA_DIR / "contract.yaml"
    if tool == "modelci":
        n, failed, elapsed, baseline = run_modelci(data, contract_path)
    elif tool == "pandera":
        n, failed, elapsed, baseline = run_pandera(data, CONTRACT)
    else:
        n, failed, elapsed, baseline = run_gx(data, CONTRACT)
    print(
        json.dumps(
            {
                "tool": tool,
                "checks": n,
                "failed": failed,
                "seconds": elapsed,
                "read_seconds": TIMES.get("read", float("nan")),
                "baseline_mib": baseline,
                "peak_mib": _rss_mib("VmHWM"),
            }
        )
    )


# --- parent: run, tabulate, judge ----------------------------------------------------------------


def _run_child(tool: str, data: Path) -> dict[str, Any] | None:
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", tool, "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        print(f"{tool}: exited {proc.returncode}\n{proc.stderr[-3000:]}")
        return None
    # tool complaints only: GE draws progress bars on stderr
    noise = ("Calculating Metrics",)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith(noise)]
    if lines:
        print("\n".join(lines[-30:]), file=sys.stderr)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--tools", default="modelci,pandera,gx")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the fastest counts")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data)
        return 0

    import pyarrow.parquet as pq

    data = make_data(args.rows)
    nbytes = pq.read_table(data).nbytes
    size_mib = nbytes / 2**20
    print(
        f"data: {data.name}: {args.rows:,} rows x 20 columns, "
        f"Arrow in-memory size (table.nbytes) {size_mib:,.0f} MiB"
    )
    print(
        f"contract: {count_checks(CONTRACT)} checks (+ {len(CONTRACT['columns'])} presence checks)"
    )

    results: dict[str, dict[str, Any]] = {}
    # Round-robin repeats, so a burst of load on this shared machine hits every tool alike;
    # each tool keeps its fastest run and its highest peak.
    tools = args.tools.split(",")
    for _ in range(args.repeat):
        for tool in tools:
            run = _run_child(tool, data)
            if run is None:
                continue
            best = results.get(tool)
            if best is None or run["seconds"] < best["seconds"]:
                peak = max(run["peak_mib"], best["peak_mib"]) if best else run["peak_mib"]
                results[tool] = {**run, "peak_mib": peak}
            else:
                best["peak_mib"] = max(best["peak_mib"], run["peak_mib"])
    print(f"runs per tool: {args.repeat} (fastest shown; peak is the highest of the runs)")

    base = results.get("modelci")
    print()
    print(
        f"{'tool':<10} {'checks':>6} {'failed':>6} {'seconds':>8} {'(read)':>7} {'x modelci':>9} "
        f"{'base MiB':>8} {'peak MiB':>8} {'added MiB':>9} {'added/data':>10}"
    )
    for tool, r in results.items():
        added = r["peak_mib"] - r["baseline_mib"]
        ratio = r["seconds"] / base["seconds"] if base else float("nan")
        print(
            f"{tool:<10} {r['checks']:>6} {r['failed']:>6} {r['seconds']:>8.2f} "
            f"{r['read_seconds']:>7.2f} {ratio:>9.1f} {r['baseline_mib']:>8.0f} "
            f"{r['peak_mib']:>8.0f} {added:>9.0f} {added / size_mib:>10.2f}"
        )
    if not base:
        return 1
    verdicts = []
    added_ratio = (base["peak_mib"] - base["baseline_mib"]) / size_mib
    verdicts.append(
        ("modelci memory added <= 1.5x data", added_ratio <= 1.5, f"{added_ratio:.2f}x")
    )
    verdicts.append(
        ("modelci peak (incl. baseline) / data", True, f"{base['peak_mib'] / size_mib:.2f}x (info)")
    )
    for tool, target in (("pandera", 5.0), ("gx", 20.0)):
        if tool in results:
            speedup = results[tool]["seconds"] / base["seconds"]
            verdicts.append(
                (f"modelci >= {target:g}x faster than {tool}", speedup >= target, f"{speedup:.1f}x")
            )
    clean = all(r["failed"] == 0 for r in results.values())
    verdicts.append(("every tool passes the valid data", clean, ""))
    print()
    for label, ok, value in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {label}  {value}")
    return 0 if all(ok for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
