"""Identifiers and links both documents share: purls, bom-refs, UUIDs, dataset grouping.

Every identifier is derived from the inputs, never random, so the same inputs give the
same document. A URI that goes into a document loses its credentials first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from modelci.sbom.inputs import Dataset, ModelInfo, sha256_hex

#: the namespace of every UUID-5 modelci derives (serial numbers, SPDX document ids)
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://modelci.dev/sbom")


@dataclass(frozen=True)
class DataEntry:
    """A distinct dataset (by digest) and the roles it played."""

    dataset: Dataset
    roles: tuple[str, ...]
    sha256: str

    @property
    def ref(self) -> str:
        return f"data:sha256:{self.sha256}"


def group_datasets(datasets: Iterable[Dataset]) -> list[DataEntry]:
    """One entry per distinct digest: the same data used for training and evaluation is
    one component with two roles, in the order first given."""
    grouped: dict[str, tuple[Dataset, list[str]]] = {}
    for dataset in datasets:
        key = sha256_hex(dataset.digest, f"{dataset.role.value} dataset {dataset.source}")
        _, roles = grouped.setdefault(key, (dataset, []))
        if dataset.role.value not in roles:
            roles.append(dataset.role.value)
    return [DataEntry(dataset, tuple(roles), key) for key, (dataset, roles) in grouped.items()]


def model_purl(model: ModelInfo) -> Any:
    """``pkg:mlflow/<name>@<version>``: the purl type the purl spec defines for MLflow
    models. ``repository_url`` names the registry only when it is an http(s) URL (a local
    ``sqlite:`` store means nothing elsewhere), without credentials or query."""
    from packageurl import PackageURL

    qualifiers: dict[str, str] = {}
    registry = model.registry_uri or ""
    if registry.startswith(("http://", "https://")):
        qualifiers["repository_url"] = without_credentials(registry)
    if model.run_id:
        qualifiers["run_id"] = model.run_id
    return PackageURL(type="mlflow", name=model.name, version=model.version, qualifiers=qualifiers)


def model_ref(model: ModelInfo) -> str:
    """The model's bom-ref: its purl without qualifiers."""
    from packageurl import PackageURL

    return str(PackageURL(type="mlflow", name=model.name, version=model.version))


def document_uuid(model: ModelInfo, kind: str) -> uuid.UUID:
    """A UUID-5 of the model's name, version and files, per document kind."""
    listing = "".join(f"{f.sha256}  {f.path}\n" for f in sorted(model.files, key=lambda f: f.path))
    return uuid.uuid5(UUID_NAMESPACE, f"{kind}\n{model.name}@{model.version}\n{listing}")


def without_credentials(uri: str) -> str:
    """A URI without ``user:password@``, query or fragment: a tracking or data URI may
    carry a token there (basic auth, a presigned URL's signature), and a token never
    goes into a document. The digest beside the URI says which data it was."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
