"""What a provenance statement is made from: typed facts of one training run.

The step fills these from the run manifest and the CI context (``ctx.ci``); nothing here
reads the environment or the clock. Datasets and parameters are the SBOM's own types, so
one ``Dataset`` is filled once and goes into both documents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from modelci.errors import InputError
from modelci.sbom.inputs import Dataset, Parameter, sha256_hex

#: modelci's build type: what the parameters below mean (docs/provenance.md)
BUILD_TYPE = "https://modelci.dev/buildtypes/train/v1"

_COMMIT = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")


@dataclass(frozen=True)
class SourceRepository:
    """The git repository the training ran from: ``https://github.com/org/repo`` (or any
    git URL), the commit, and the ref that was checked out."""

    uri: str
    commit: str
    ref: str | None = None

    def __post_init__(self) -> None:
        if not _COMMIT.match(self.commit):
            raise InputError(
                f"source repository {self.uri}: commit {self.commit!r} is not a full git "
                "commit id (40 or 64 hex digits)"
            )


@dataclass(frozen=True)
class ConfigFile:
    """The project file the run read, and its digest (hex sha256)."""

    path: str
    sha256: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", sha256_hex(self.sha256, f"config file {self.path}"))


@dataclass(frozen=True)
class Training:
    """What was trained and how: a declarative estimator with its parameters, or the
    team's own command."""

    estimator: str | None = None
    params: tuple[Parameter, ...] = ()
    command: str | None = None
    task: str | None = None
    target: str | None = None
    seed: int | None = None
    #: further settings that decided the result (split, features, preprocessing)
    settings: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        if not self.estimator and not self.command:
            raise InputError("provenance: name the estimator or the training command")


@dataclass(frozen=True)
class Resource:
    """An artifact the build used or made besides the model (an in-toto resource
    descriptor): a base model, an MLflow run, an SBOM."""

    name: str
    uri: str | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if self.sha256 is not None:
            object.__setattr__(self, "sha256", sha256_hex(self.sha256, f"resource {self.name}"))


@dataclass(frozen=True)
class RunDetails:
    """Who built it and when. ``builder_id`` is the workflow or template that ran
    (``https://github.com/org/repo/.github/workflows/train-attest.yml@refs/heads/main``);
    ``invocation_id`` the run or job URL."""

    builder_id: str
    started_on: dt.datetime
    finished_on: dt.datetime
    invocation_id: str | None = None
    builder_version: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        if not self.builder_id:
            raise InputError("provenance: the builder id is empty")
        for moment in (self.started_on, self.finished_on):
            if moment.tzinfo is None:
                raise InputError("provenance: give start and finish as timezone-aware times")
        if self.finished_on < self.started_on:
            raise InputError("provenance: the run finished before it started")


@dataclass(frozen=True)
class ProvenanceInputs:
    #: every model file: relative posix path -> sha256 hex; pass ``Signed.digests`` (or
    #: ``modelci.signing.digest_model``) so provenance and signature state the same digests
    digests: Mapping[str, str]
    training: Training
    run: RunDetails
    datasets: tuple[Dataset, ...] = ()
    source: SourceRepository | None = None
    config: ConfigFile | None = None
    base_model: Resource | None = None
    #: the CI entry point that was run (``.github/workflows/train.yml``)
    entry_point: str | None = None
    internal: tuple[Parameter, ...] = ()
    byproducts: tuple[Resource, ...] = ()
    #: further inputs the build resolved (a feature store snapshot, a pretrained encoder)
    dependencies: tuple[Resource, ...] = ()
    build_type: str = BUILD_TYPE

    def __post_init__(self) -> None:
        if not self.digests:
            raise InputError("provenance: no model file to state (the subject list is empty)")
        checked = {
            name: sha256_hex(value, f"model file {name}") for name, value in self.digests.items()
        }
        object.__setattr__(self, "digests", MappingProxyType(dict(sorted(checked.items()))))
