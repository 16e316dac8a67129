"""The run folder and its manifest: the facts one pipeline run accumulates, step by step.

Later steps find their inputs in ``manifest.json`` so a user never repeats a path. Between
CI jobs the folder travels as a job artifact, so every path stored here is relative to it
where it can be.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from modelci import __version__, fsutil
from modelci.errors import InputError
from modelci.timestamps import utc_now

MANIFEST = "manifest.json"
MANIFEST_SCHEMA_VERSION = 1
DEFAULT_WORKDIR = ".modelci"
#: manifest sections later steps read back as objects (a string there is a damaged file)
SECTIONS = ("steps", "datasets", "validate_data", "train", "compare")


class RunFolder:
    """One pipeline run's folder: ``<workdir>/manifest.json`` plus one sub-folder per step."""

    def __init__(self, path: str | Path = DEFAULT_WORKDIR) -> None:
        self.path = Path(path)

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def step_dir(self, step: str) -> Path:
        """The step's folder, once the run folder is known to be writable: a step must not
        write its outputs and then fail on the manifest, leaving the two out of step."""
        folder = self.path / step
        for place in (self.path, folder):
            if place.exists() and not place.is_dir():
                raise InputError(
                    f"{place}: is a file where the run folder needs a folder; "
                    "move the file or choose another --workdir"
                )
        place = folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for place in (self.path, folder):
                tempfile.TemporaryFile(dir=place).close()
        except OSError as exc:
            raise InputError(
                f"{place}: run folder is not writable ({exc.strerror}); "
                "make it writable or choose another --workdir"
            ) from None
        return folder

    def relative(self, path: str | Path) -> str:
        """A path as stored in the manifest: relative to the run folder when inside it."""
        p = Path(path)
        try:
            return str(p.resolve().relative_to(self.path.resolve()))
        except ValueError:
            return str(p)

    def resolve(self, stored: str) -> Path:
        """Inverse of :meth:`relative`."""
        p = Path(stored)
        return p if p.is_absolute() else self.path / p

    def read(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return _empty_manifest()
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(
                f"{self.manifest_path}: not a readable manifest ({exc}); "
                "delete it or point --workdir at another run folder"
            ) from None
        if not isinstance(data, dict):
            raise InputError(f"{self.manifest_path}: manifest must be a JSON object")
        for key in SECTIONS:
            if key in data and not isinstance(data[key], dict):
                raise InputError(
                    f"{self.manifest_path}: {key!r} must be a JSON object, not "
                    f"{type(data[key]).__name__}; the manifest is damaged: delete it and "
                    "rerun the steps, or point --workdir at another run folder"
                )
        return data

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        lock = self.path / ".manifest.lock"
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read, change and atomically rewrite the manifest under a lock."""
        with self._locked():
            data = self.read()
            change(data)
            data["updated"] = utc_now()
            data["modelci_version"] = __version__
            fsutil.write_json(self.manifest_path, data)
            return data

    def record_step(self, step: str, *, passed: bool, facts: dict[str, Any]) -> dict[str, Any]:
        """Record a step's verdict and merge its facts into the manifest's top level."""

        def change(data: dict[str, Any]) -> None:
            data.setdefault("steps", {})[step] = {
                "passed": passed,
                "finished": utc_now(),
                **({"report": facts.pop("report")} if "report" in facts else {}),
            }
            _deep_merge(data, facts)

        return self.update(change)


def _empty_manifest() -> dict[str, Any]:
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "modelci_version": __version__,
        "created": utc_now(),
        "steps": {},
    }


def _deep_merge(target: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value
