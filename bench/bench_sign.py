"""Signing and verifying a 2 GiB model by key: modelci against the hashing limit of this
machine and against the ``model_signing`` CLI, in one run.

    .venv/bin/python bench/bench_sign.py [--size-mib 2048] [--files 4] [--repeats 3] [--sweep]

- limit: ``openssl dgst -sha256`` over the same files, split over two processes run in
  parallel (one per core): the fastest sha256 of every byte this machine can do;
- modelci: ``sign_model`` / ``verify_model`` with ``KeySigner`` / ``PublicKeyVerifier``,
  as the sign and verify steps call them: in this process (libraries already imported, as
  in ``modelci pipeline``) and in a fresh process (start-up and imports included, as a
  separate CI step; model-signing imports sigstore-python even for key signing);
- model_signing CLI: ``model_signing sign key`` / ``verify key`` on the same files, each a
  fresh process (as a CI job runs it), same key.

The files (random bytes, generated once into bench/.data) are read once before timing, so
every contender hashes from the page cache and the comparison is of CPU, not disk.
Contenders are interleaved and the median of ``--repeats`` runs is reported, since the
machine is shared. ``--sweep`` also times model-signing's public hashing options alone
(file vs shard serialization, worker count, chunk size) to show which setting modelci
should use.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
DATA = HERE / ".data" / "sign"
MIB = 1024 * 1024


def _files(size_mib: int, count: int) -> Path:
    model = DATA / f"model-{size_mib}m-{count}"
    per_file = size_mib * MIB // count
    paths = [model / f"shard-{i:02d}.bin" for i in range(count)]
    if all(p.is_file() and p.stat().st_size == per_file for p in paths):
        return model
    model.mkdir(parents=True, exist_ok=True)
    print(f"generating {size_mib} MiB in {count} files under {model} ...", flush=True)
    block = 8 * MIB
    for path in paths:
        with path.open("wb") as handle:
            for _ in range(per_file // block):
                handle.write(os.urandom(block))
            handle.write(os.urandom(per_file % block))
    return model


def _key() -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private, public = DATA / "key.pem", DATA / "key.pub"
    if not private.is_file():
        key = ec.generate_private_key(ec.SECP256R1())
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private, public


def _warm(model: Path) -> None:
    for path in sorted(model.iterdir()):
        with path.open("rb") as handle:
            while handle.read(16 * MIB):
                pass


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _openssl(model: Path) -> None:
    files = sorted(str(p) for p in model.iterdir())
    halves = [files[0::2], files[1::2]]
    procs = [
        subprocess.Popen(["openssl", "dgst", "-sha256", *half], stdout=subprocess.DEVNULL)
        for half in halves
        if half
    ]
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("openssl dgst failed")


SIGN = """
import sys
from pathlib import Path
from modelci.signing import KeySigner, sign_model
sign_model(Path(sys.argv[1]), KeySigner(Path(sys.argv[2])), Path(sys.argv[3]))
"""
VERIFY = """
import sys
from pathlib import Path
from modelci.signing import PublicKeyVerifier, verify_model
verify_model(Path(sys.argv[1]), Path(sys.argv[3]), PublicKeyVerifier(Path(sys.argv[2])))
"""


def _modelci(script: str, model: Path, key: Path, signature: Path) -> None:
    # A fresh process, like the CLI it is compared with and like a CI step.
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    subprocess.run(
        [sys.executable, "-c", script, str(model), str(key), str(signature)], check=True, env=env
    )


def _cli(*args: str) -> None:
    cli = Path(sys.executable).with_name("model_signing")
    subprocess.run([str(cli), *args], check=True, stdout=subprocess.DEVNULL)


def _sweep(model: Path, repeats: int) -> None:
    from model_signing import hashing

    variants: list[tuple[str, Callable[[], hashing.Config]]] = []
    for workers in (1, 2, 4, None):
        for chunk in (1 * MIB, 8 * MIB):
            variants.append(
                (
                    f"files  workers={workers!s:4} chunk={chunk // MIB} MiB",
                    lambda w=workers, c=chunk: hashing.Config().use_file_serialization(
                        max_workers=w, chunk_size=c
                    ),
                )
            )
    for workers in (2, None):
        for shard in (128 * MIB, 1_000_000_000):
            variants.append(
                (
                    f"shards workers={workers!s:4} shard={shard // MIB} MiB",
                    lambda w=workers, s=shard: hashing.Config().use_shard_serialization(
                        max_workers=w, shard_size=s
                    ),
                )
            )
    print("\nhashing only (model-signing hashing.Config().hash), each run paired with openssl")
    print(f"{'variant':42} {'seconds':>8} {'x limit':>8}")
    for name, make in variants:
        seconds, ratios = [], []
        for _ in range(repeats):
            limit = _timed(lambda: _openssl(model))
            seconds.append(_timed(lambda m=make: m().hash(model)))
            ratios.append(seconds[-1] / limit)
        print(f"{name:42} {statistics.median(seconds):8.2f} {statistics.median(ratios):8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()

    import model_signing.signing
    import model_signing.verifying  # noqa: F401 (imported before timing "in process")

    from modelci.signing import KeySigner, PublicKeyVerifier, sign_model, verify_model
    from modelci.signing.model import CHUNK_SIZE, HASH_WORKERS

    model = _files(args.size_mib, args.files)
    private, public = _key()
    _warm(model)
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "modelci.sig", Path(tmp) / "cli.sig"
        runs: dict[str, Callable[[], object]] = {
            "openssl dgst -sha256, 2 processes": lambda: _openssl(model),
            "modelci sign, in process": lambda: sign_model(model, KeySigner(private), ours),
            "modelci verify, in process": lambda: verify_model(
                model, ours, PublicKeyVerifier(public)
            ),
            "modelci sign, fresh process": lambda: _modelci(SIGN, model, private, ours),
            "modelci verify, fresh process": lambda: _modelci(VERIFY, model, public, ours),
            "model_signing CLI sign key": lambda: _cli(
                "sign", "key", "--private_key", str(private), "--signature", str(theirs), str(model)
            ),
            "model_signing CLI verify key": lambda: _cli(
                "verify", "key", "--public_key", str(public), "--signature", str(theirs), str(model)
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():  # interleaved: a busy neighbour hurts all alike
                times[name].append(_timed(run))
    limits = times["openssl dgst -sha256, 2 processes"]
    # Ratios are taken within a round, then the median over rounds: the load of the
    # shared machine drifts between rounds more than within one.
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {
        name: statistics.median(t / limit for t, limit in zip(values, limits, strict=True))
        for name, values in times.items()
    }
    print(
        f"\n{args.size_mib} MiB in {args.files} files, {os.cpu_count()} cores, median of "
        f"{args.repeats}; modelci: {HASH_WORKERS} workers, {CHUNK_SIZE // MIB} MiB chunks"
    )
    print(f"{'run':36} {'seconds':>8} {'x limit':>8} {'MiB/s':>8}")
    for name, seconds in medians.items():
        print(f"{name:36} {seconds:8.2f} {ratios[name]:8.2f} {args.size_mib / seconds:8.0f}")
    cli_sign, cli_verify = (
        ratios["model_signing CLI sign key"],
        ratios["model_signing CLI verify key"],
    )
    print("\ntarget: sign and verify each within 1.25x of the limit")
    for how in ("in process", "fresh process"):
        sign, verify = ratios[f"modelci sign, {how}"], ratios[f"modelci verify, {how}"]
        verdict = "met" if max(sign, verify) <= 1.25 else "NOT met"
        print(
            f"  {how:14} sign {sign:.2f}x, verify {verify:.2f}x -> {verdict}; vs the "
            f"model_signing CLI: sign {sign / cli_sign:.2f}x, verify {verify / cli_verify:.2f}x"
        )
    if args.sweep:
        _sweep(model, args.repeats)


if __name__ == "__main__":
    main()
