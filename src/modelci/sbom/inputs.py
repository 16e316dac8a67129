"""What a bill of materials is made from: typed facts of one model, filled by the caller.

The step fills these from the run manifest (dataset digests, registry version, metrics),
``modelci.yaml`` (considerations) and the model folder (MLmodel, requirements); nothing
here reads the environment or the clock, so the same inputs give the same document.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from pathlib import Path

from modelci.errors import InputError

# The MLmodel facts are read by modelci.models (compare and train load models too); they are
# named here as well because they are part of what a bill of materials is made from.
from modelci.models.mlmodel import Flavor as Flavor
from modelci.models.mlmodel import MLmodelInfo as MLmodelInfo
from modelci.models.mlmodel import ModelSignature as ModelSignature
from modelci.models.mlmodel import Parameter as Parameter
from modelci.models.mlmodel import SchemaField as SchemaField

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(digest: str, what: str) -> str:
    """The 64 hex digits of ``sha256:<hex>`` or of a bare hex digest; ``InputError``
    naming ``what`` for anything else."""
    value = digest.removeprefix("sha256:").lower()
    if not _SHA256.match(value):
        raise InputError(f"{what}: {digest!r} is not a sha256 digest (64 hex digits)")
    return value


@dataclass(frozen=True)
class ModelFile:
    """One file of the model folder: path relative to the folder (``/`` separators)."""

    path: str
    sha256: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", sha256_hex(self.sha256, f"model file {self.path}"))


@dataclass(frozen=True)
class ModelInfo:
    """The model the document is about."""

    #: registered model name
    name: str
    #: registry version
    version: str
    #: the MLflow model folder
    path: Path
    files: tuple[ModelFile, ...]
    #: import path of the estimator class (``sklearn.linear_model.LogisticRegression``);
    #: None when the team's own command trained the model
    estimator: str | None
    params: tuple[Parameter, ...] = ()
    #: classification, regression, or None when unknown
    task: str | None = None
    mlmodel: MLmodelInfo | None = None
    #: where the registry is, for the purl's repository_url; only an http(s) URL is used
    registry_uri: str | None = None
    #: MLflow run that produced the model
    run_id: str | None = None
    #: modelci's digest of the whole folder (``sha256:<hex>``, see modelci.digests)
    digest: str | None = None

    def __post_init__(self) -> None:
        if not self.files:
            raise InputError(f"{self.path}: the model folder has no files to list")


class DatasetRole(enum.Enum):
    TRAINING = "training"
    EVALUATION = "evaluation"


@dataclass(frozen=True)
class Dataset:
    role: DatasetRole
    #: where the data was read from: a URI or a path as the user gave it
    source: str
    #: ``sha256:<hex>``: of the file, or of modelci's listing of a folder's files
    digest: str
    rows: int | None = None
    columns: tuple[str, ...] = ()
    #: the data contract (path) the data was validated against, and its digest
    contract: str | None = None
    contract_digest: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        sha256_hex(self.digest, f"{self.role.value} dataset {self.source}")
        if self.contract_digest is not None:
            sha256_hex(self.contract_digest, f"data contract {self.contract}")

    @property
    def label(self) -> str:
        """The name, else the last part of the source's path (never its query)."""
        if self.name:
            return self.name
        from urllib.parse import urlsplit

        path = urlsplit(self.source).path if "://" in self.source else self.source
        return path.rstrip("/").rsplit("/", 1)[-1] or "dataset"


@dataclass(frozen=True)
class Interval:
    """A confidence interval, at ``confidence`` (0.95 for 95 %)."""

    lower: float
    upper: float
    confidence: float


@dataclass(frozen=True)
class TrainMetric:
    """A metric of the train step, on its holdout (or test file)."""

    name: str
    value: float


@dataclass(frozen=True)
class ComparedMetric:
    """One row of the compare step: the candidate against production on the evaluation
    data, whole (``slice`` None) or on one slice; ``interval`` bounds the difference."""

    metric: str
    candidate: float | None
    production: float | None = None
    difference: float | None = None
    interval: Interval | None = None
    passed: bool | None = None
    slice: str | None = None
    rows: int | None = None


@dataclass(frozen=True)
class Performance:
    train: tuple[TrainMetric, ...] = ()
    compared: tuple[ComparedMetric, ...] = ()
    #: the production model compared against (``models:/name@champion``)
    baseline: str | None = None


@dataclass(frozen=True)
class Risk:
    name: str
    mitigation: str | None = None


@dataclass(frozen=True)
class FairnessAssessment:
    group: str
    benefits: str | None = None
    harms: str | None = None
    mitigation: str | None = None


@dataclass(frozen=True)
class Considerations:
    """``sbom.considerations`` of modelci.yaml: what the team says about the model's use."""

    users: tuple[str, ...] = ()
    use_cases: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    tradeoffs: tuple[str, ...] = ()
    ethical: tuple[Risk, ...] = ()
    fairness: tuple[FairnessAssessment, ...] = ()

    def __bool__(self) -> bool:
        return any(
            (self.users, self.use_cases, self.limitations, self.tradeoffs, self.ethical,
             self.fairness)
        )  # fmt: skip


@dataclass(frozen=True)
class Hash:
    algorithm: str  # hashlib name: sha256, sha384, sha512
    value: str


@dataclass(frozen=True)
class Requirement:
    """A Python distribution of the model's runtime, pinned to one version."""

    name: str  # normalised (PEP 503)
    version: str
    hashes: tuple[Hash, ...] = ()
    #: license as the installed distribution of the same version declares it; None: unknown
    license: str | None = None
    #: where it was read: ``requirements.txt:3``
    source: str = ""

    @property
    def purl(self) -> str:
        from packageurl import PackageURL

        return str(PackageURL(type="pypi", name=self.name, version=self.version))


@dataclass(frozen=True)
class Runtime:
    """The model's own environment, from the files MLflow saved beside it."""

    requirements: tuple[Requirement, ...]
    python_version: str | None = None
    #: the files read, relative to the model folder
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolInfo:
    name: str = "modelci"
    version: str = field(default_factory=lambda: _modelci_version())


def _modelci_version() -> str:
    from modelci import __version__

    return __version__


@dataclass(frozen=True)
class SbomInputs:
    model: ModelInfo
    runtime: Runtime
    timestamp: dt.datetime
    datasets: tuple[Dataset, ...] = ()
    performance: Performance = Performance()
    considerations: Considerations = Considerations()
    #: the Sigstore bundle of ``modelci sign`` (path or URI), referenced, not embedded
    signature_bundle: str | None = None
    signature_sha256: str | None = None
    tool: ToolInfo = field(default_factory=ToolInfo)

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise InputError("sbom timestamp: give a timezone-aware time (UTC)")
        if self.signature_sha256 is not None:
            # stored as the bare hex digest CycloneDX and SPDX hash fields take
            digest = sha256_hex(self.signature_sha256, f"signature bundle {self.signature_bundle}")
            object.__setattr__(self, "signature_sha256", digest)
