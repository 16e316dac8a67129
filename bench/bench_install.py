"""Install time and size by capability: what a job installs for one step, against the
install every job used to do (everything, ``modelci[all]``), measured in the same run.

Each variant gets a fresh virtual environment and is installed from one local wheelhouse
(``pip install --no-index``), so the numbers compare what is installed, not the network: the
wheelhouse is built first, untimed, from the package index. Size is the bytes under the
environment's site-packages; startup is ``modelci --help`` in that environment, best of
three.

    .venv/bin/python bench/bench_install.py [--only core,data] [--keep]

Variants:

- ``core``: the CLI, config, manifest and run folder only (``pip install modelci``);
- ``data``: what the validate-data action installs (its step's extras), then runs
  ``modelci validate-data`` on the bundled example in that environment;
- ``sign``: what a verify-before-deploy job installs;
- ``all``: every capability, the one install every action did before the extras split.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".data"
VARIANTS = {
    "core": "modelci",
    "data": "modelci[data]",
    "sign": "modelci[sign]",
    "all": "modelci[all]",
}
BASELINE = "all"


@dataclass(frozen=True)
class Measured:
    variant: str
    seconds: float
    mib: float
    distributions: int
    startup: float


def _run(*argv: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], check=True, capture_output=True, text=True, **kwargs
    )


def wheelhouse(python: str) -> Path:
    """modelci's wheel and every dependency of modelci[all], from the index (untimed)."""
    house = DATA / "wheelhouse"
    house.mkdir(parents=True, exist_ok=True)
    for old in house.glob("modelci-*.whl"):
        old.unlink()  # this checkout's modelci, always rebuilt
    _run(python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", house, ROOT)
    _run(python, "-m", "pip", "wheel", "--quiet", "--wheel-dir", house, f"{ROOT}[all]")
    return house


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def measure(variant: str, spec: str, house: Path, python: str, scratch: Path) -> Measured:
    env_dir = scratch / variant
    _run(python, "-m", "venv", env_dir)
    pip = [env_dir / "bin" / "python", "-m", "pip"]
    _run(*pip, "install", "--quiet", "--upgrade", "--no-index", "--find-links", house, "pip")
    started = time.perf_counter()
    _run(*pip, "install", "--quiet", "--no-index", "--find-links", house, spec)
    seconds = time.perf_counter() - started
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    listed = _run(*pip, "list", "--format=freeze").stdout.splitlines()
    startups = []
    for _ in range(3):
        began = time.perf_counter()
        _run(env_dir / "bin" / "modelci", "--help", env={**os.environ, "NO_COLOR": "1"})
        startups.append(time.perf_counter() - began)
    if variant == "data":
        # the extras are enough for the step: validate the bundled example in that env
        project = scratch / "quickstart"
        shutil.copytree(ROOT / "examples" / "quickstart", project, dirs_exist_ok=True)
        _run(env_dir / "bin" / "modelci", "validate-data", cwd=project)
    return Measured(variant, seconds, _size(site) / 2**20, len(listed), min(startups))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated variants (the baseline always runs)")
    parser.add_argument("--keep", action="store_true", help="keep the environments")
    args = parser.parse_args()
    chosen = [v for v in VARIANTS if not args.only or v in args.only.split(",")]
    if BASELINE not in chosen:
        chosen.append(BASELINE)
    python = shutil.which("python3.11") or sys.executable
    print(f"building the wheelhouse in {DATA / 'wheelhouse'} (untimed)…", flush=True)
    house = wheelhouse(python)
    scratch = Path(tempfile.mkdtemp(prefix="modelci-bench-install-"))
    try:
        results = {v: measure(v, VARIANTS[v], house, python, scratch) for v in chosen}
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    base = results[BASELINE]
    print()
    print(
        f"{'variant':8} {'installs':22} {'seconds':>8} {'x all':>6} {'MiB':>7} {'x all':>6} "
        f"{'dists':>5} {'--help s':>8}"
    )
    for variant, found in results.items():
        print(
            f"{variant:8} {VARIANTS[variant]:22} {found.seconds:8.1f} "
            f"{found.seconds / base.seconds:6.2f} {found.mib:7.0f} {found.mib / base.mib:6.2f} "
            f"{found.distributions:5d} {found.startup:8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
