"""The run folder: ``manifest.json`` plus one sub-folder per step.

Later steps find their inputs in the manifest (:mod:`modelci.manifest`), so a user never
repeats a path. Between CI jobs the folder travels as a job artifact, so every path stored
here is relative to it where it can be.

A step's files and its manifest entry are written together or not at all
(:meth:`RunFolder.record`): everything is staged first (where a full disk or a bad value
fails), the new manifest is validated and written beside the old one, and only then are the
staged files renamed into place and the manifest replaced.

Each step also leaves a copy of the manifest as it wrote it in its own folder
(``<step>/manifest.json``), and the newest manifest of the folder is the one read. A GitLab
job that needs several earlier modelci jobs receives each one's run folder unpacked over the
others, in an order nothing promises (gitlab-ci-local copies them in parallel): the top-level
``manifest.json`` may then be an older job's, while each step's folder, written only by that
step, is the same in every artifact that holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelci import __version__, fsutil, secrets
from modelci import manifest as manifest_mod
from modelci.errors import InputError
from modelci.manifest import Manifest, StepRecord
from modelci.timestamps import utc_now

MANIFEST = "manifest.json"
#: a manifest is a few kilobytes; a huge one (a sparse file in an artifact) is refused unread
MAX_MANIFEST_BYTES = 16 * 2**20
#: more step records than any run makes: a larger count is not believed (and not carried on)
MAX_RECORDS = 2**31
DEFAULT_WORKDIR = ".modelci"


@dataclass
class Staged:
    """What a step hands to the run folder with its manifest entry.

    ``files`` are written into the step's folder (text is scrubbed of credentials and
    encoded as UTF-8); ``moves`` are finished files or folders elsewhere (train's model
    folder in the staging area) moved in under the given names.
    """

    files: dict[str, str | bytes] = field(default_factory=dict)
    moves: dict[str, Path] = field(default_factory=dict)


class RunFolder:
    """One pipeline run's folder."""

    def __init__(self, path: str | Path = DEFAULT_WORKDIR) -> None:
        self.path = Path(path)

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def step_dir(self, step: str) -> Path:
        """The step's folder, once the run folder is known to be writable: a step must not
        do its work and then fail on the record, leaving the two out of step."""
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
                probe = place / f".modelci-probe-{uuid.uuid4().hex}"
                probe.touch()
                probe.unlink()
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

    # --- reading -------------------------------------------------------------------------

    def manifest(self) -> Manifest:
        """The manifest, typed; an empty one when no step has run yet."""
        return manifest_mod.parse(self.read())

    def read(self) -> dict[str, Any]:
        """The newest manifest of the folder as validated JSON (exit 2 naming the file and
        key when it is damaged): the top-level one, unless a step's copy is newer."""
        path = self.manifest_path
        data = self._load(path) if path.exists() else None
        for copy in sorted(self.path.glob(f"*/{MANIFEST}")):
            candidate = self._load(copy)
            if data is None or _newer(candidate, data):
                path, data = copy, candidate
        if data is None:
            return manifest_mod.to_json(_empty())
        self._check(data, "the manifest is damaged: delete it and rerun the steps, or point "
                    "--workdir at another run folder", path=path)  # fmt: skip
        return data

    def _load(self, path: Path) -> dict[str, Any]:
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise ValueError(f"larger than {MAX_MANIFEST_BYTES // 2**20} MiB")
            data = json.loads(fsutil.read_regular_text(path))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InputError(
                f"{path}: not a readable manifest ({exc}); "
                "delete it or point --workdir at another run folder"
            ) from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: manifest must be a JSON object")
        version = data.get("schema_version")
        if version != manifest_mod.SCHEMA_VERSION:
            raise InputError(
                f"{path}: schema_version {version!r} is not "
                f"{manifest_mod.SCHEMA_VERSION}, the version this modelci "
                f"({__version__}) reads; rerun the steps with one modelci version, or point "
                "--workdir at another run folder"
            )
        return data

    def _check(self, data: Any, what_to_do: str, *, path: Path | None = None) -> None:
        problems = manifest_mod.errors(data)
        if problems:
            key, message = problems[0]
            raise InputError(f"{path or self.manifest_path}: {key}: {message}; {what_to_do}")

    # --- writing -------------------------------------------------------------------------

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

    def record(
        self,
        step: str,
        *,
        passed: bool,
        section: Any | None = None,
        staged: Staged | None = None,
        datasets: Mapping[str, manifest_mod.DatasetFacts] | None = None,
        report: str | None = None,
    ) -> Manifest:
        """Write a step's files and its manifest entry together, or nothing.

        ``section`` replaces the step's section whole (a merge would keep stale facts of an
        earlier run); ``datasets`` are merged by role.
        """
        staged = staged or Staged()
        step_dir = self.step_dir(step)
        with self._locked():
            current = self.manifest()
            changes: dict[str, Any] = {
                "steps": {
                    **current.steps,
                    step: StepRecord(passed=passed, finished=utc_now(), report=report),
                },
                "updated": utc_now(),
                "records": _count(current.records) + 1,
                "modelci_version": __version__,
            }
            if section is not None:
                changes[manifest_mod.section_name(step)] = section
            if datasets:
                changes["datasets"] = {**current.datasets, **datasets}
            data = manifest_mod.to_json(current.replace(**changes))
            self._check(data, "this is a bug in modelci: please report it")
            self._commit(step_dir, staged, data)
            return manifest_mod.parse(data)

    def _commit(self, step_dir: Path, staged: Staged, manifest_data: dict[str, Any]) -> None:
        staging = step_dir / f".staging-{uuid.uuid4().hex}"
        pending = self.manifest_path.with_name(f".{MANIFEST}.{uuid.uuid4().hex}.tmp")
        os.mkdir(staging)
        try:
            # Stage: what can fail (a full disk, a bad value) fails here, before anything shows.
            for name, content in staged.files.items():
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                data = (
                    secrets.scrub(content).encode("utf-8") if isinstance(content, str) else content
                )
                with open(target, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            for name, source in staged.moves.items():
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                _move(source, target)
            text = secrets.scrub(json.dumps(manifest_data, indent=2) + "\n")
            for target in (pending, staging / MANIFEST):
                with open(target, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
            # Publish: renames only.
            for entry in sorted(staging.iterdir()):
                _replace(entry, step_dir / entry.name)
            os.replace(pending, self.manifest_path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            pending.unlink(missing_ok=True)


def _newer(candidate: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether a step's copy of the manifest is newer than the one read so far: more step
    records went into it (CI runners' clocks may disagree, so time decides only ties), or as
    many with every step of the other and more, or as many written later."""
    more, known = _count(candidate.get("records")), _count(current.get("records"))
    if more != known:
        return more > known
    steps, seen = candidate.get("steps"), current.get("steps")
    if isinstance(steps, dict) and isinstance(seen, dict) and set(steps) != set(seen):
        return set(steps) > set(seen)
    return str(candidate.get("updated") or "") > str(current.get("updated") or "")


def _count(value: Any) -> int:
    """A manifest's record count, or 0 when it is not a believable one."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_RECORDS:
        return value
    return 0


def _empty() -> Manifest:
    return Manifest(
        schema_version=manifest_mod.SCHEMA_VERSION,
        modelci_version=__version__,
        created=utc_now(),
    )


def _move(source: Path, target: Path) -> None:
    from modelci import staging

    staging.move(source, target)


def _replace(source: Path, target: Path) -> None:
    """Rename a staged entry over its final place, whatever is there: a folder is replaced
    whole, and a file where a folder goes (or the other way round, left by hand or by an
    attacker) is set aside first, since rename cannot put one over the other."""
    plain_file = not target.is_symlink() and target.is_file() and source.is_file()
    if plain_file or not os.path.lexists(target):
        os.replace(source, target)
        return
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
    os.replace(target, old)
    os.replace(source, target)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)
