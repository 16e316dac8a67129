"""Does a provenance statement describe this model, built by whom the caller expects?

``check_statement`` is the part of ``modelci verify --provenance`` after the signature:
the statement's subjects must be exactly the model's files as they are on disk (hashed as
``sign`` hashes them), and, when the caller says so, its builder and source repository
must be the expected ones. Any difference is ``GateFailed`` with one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from modelci.errors import GateFailed, InputError
from modelci.provenance.statement import PREDICATE_TYPE, SOURCE, STATEMENT_TYPE
from modelci.signing.changes import describe_changes
from modelci.signing.model import digest_model


def check_statement(
    statement: Mapping[str, Any],
    model_dir: Path,
    *,
    builder: str | None,
    source_repository: str | None,
    ignore: Sequence[Path] = (),
) -> None:
    """``GateFailed`` unless ``statement`` is SLSA provenance of exactly the files of
    ``model_dir`` (``ignore``: paths inside it that are not the model), by ``builder``
    from ``source_repository`` when those are given."""
    if statement.get("_type") != STATEMENT_TYPE:
        raise GateFailed(f"the provenance is not an in-toto statement ({STATEMENT_TYPE})")
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise GateFailed(
            f"the statement's predicate is {statement.get('predicateType')!r}, "
            f"not SLSA provenance ({PREDICATE_TYPE})"
        )
    stated = _subjects(statement)
    try:
        actual = dict(digest_model(model_dir, ignore=ignore))
    except InputError as exc:
        if not model_dir.is_dir():
            raise
        # a folder that cannot be hashed as signed (a link where a file was) is not it
        raise GateFailed(f"the provenance is not about the model in {model_dir}: {exc}") from None
    if stated != actual:
        changes = describe_changes(stated, actual)
        raise GateFailed(f"the provenance is not about the model in {model_dir}: {changes}")
    predicate = statement.get("predicate")
    predicate = predicate if isinstance(predicate, Mapping) else {}
    if builder is not None:
        found = _get(predicate, "runDetails", "builder", "id")
        if found != builder:
            raise GateFailed(
                f"the model was built by {found or 'an unnamed builder'}, not {builder}"
            )
    if source_repository is not None:
        sources = _sources(predicate)
        wanted = repository_key(source_repository)
        if wanted not in {repository_key(s) for s in sources}:
            shown = ", ".join(sources) if sources else "no source repository"
            raise GateFailed(f"the model was built from {shown}, not from {source_repository}")


def repository_key(uri: str) -> str:
    """A git repository URI reduced to what names the repository: ``git+``, credentials,
    ``@ref``, ``.git`` and a trailing slash dropped, host lower-cased."""
    text = uri.removeprefix("git+")
    parts = urlsplit(text)
    if parts.scheme and parts.netloc:
        host = parts.netloc.rsplit("@", 1)[-1].lower()
        path = parts.path.split("@", 1)[0]
        text = f"{parts.scheme.lower()}://{host}{path}"
    else:
        text = text.split("@", 1)[0] if "://" not in text else text
    return text.rstrip("/").removesuffix(".git")


def _subjects(statement: Mapping[str, Any]) -> dict[str, str]:
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise GateFailed("the provenance names no subject")
    stated: dict[str, str] = {}
    for subject in subjects:
        digest = subject.get("digest") if isinstance(subject, Mapping) else None
        name = subject.get("name") if isinstance(subject, Mapping) else None
        if not isinstance(name, str) or not isinstance(digest, Mapping) or "sha256" not in digest:
            raise GateFailed("a provenance subject has no name or no sha256 digest")
        stated[name] = str(digest["sha256"])
    return stated


def _sources(predicate: Mapping[str, Any]) -> list[str]:
    dependencies = _get(predicate, "buildDefinition", "resolvedDependencies")
    if not isinstance(dependencies, list):
        return []
    return [
        d["uri"]
        for d in dependencies
        if isinstance(d, Mapping) and d.get("name") == SOURCE and isinstance(d.get("uri"), str)
    ]


def _get(data: Mapping[str, Any], *keys: str) -> Any:
    value: Any = data
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value
