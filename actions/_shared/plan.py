"""Print modelci's version and a cache key for the virtual environment built from ROOT
with the given extras (``plan.py ROOT EXTRAS``).

The key hashes pyproject.toml and every file under src/ (the source the venv is built from)
with the interpreter it is bound to, so a changed source or a new Python gets a new venv.
Run by the interpreter the venv is made with; standard library only.
"""

from __future__ import annotations

import hashlib
import sys
import tomllib
from pathlib import Path


def source_files(root: Path) -> list[Path]:
    files = [root / "pyproject.toml"]
    for path in sorted((root / "src").rglob("*")):
        parts = set(path.relative_to(root).parts)
        if (
            path.is_file()
            and "__pycache__" not in parts
            and not any(p.endswith(".egg-info") for p in parts)
        ):
            files.append(path)
    return files


def main(root: Path, extras: str) -> None:
    version = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    digest = hashlib.sha256()
    for path in source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    interpreter = f"{sys.implementation.name}{sys.version_info[0]}.{sys.version_info[1]}"
    digest.update(sys.base_prefix.encode())
    # a venv holds the extras it was built with: another set is another venv
    digest.update(b"\0extras=" + extras.encode())
    print(version, f"{interpreter}-{digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "core")
