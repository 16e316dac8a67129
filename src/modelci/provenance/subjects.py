"""The model files a statement is about, hashed as ``sign`` hashes them.

OpenSSF model-signing's public hashing API (``model_signing.hashing.Config``) with the
settings ``modelci.signing`` uses: one sha256 per file, git metadata ignored, symbolic
links refused. So the provenance subjects equal the digests in the model's signature.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from modelci.errors import InputError, first_line

CHUNK_SIZE = 1024 * 1024


def hash_model(model_dir: Path, *, ignore: Sequence[Path] = ()) -> Mapping[str, str]:
    """``{relative posix path: sha256 hex}`` of every file of ``model_dir``; ``ignore``
    holds paths relative to the folder (a signature or statement kept inside it)."""
    from model_signing import hashing

    if not model_dir.is_dir():
        what = "is not a folder" if model_dir.exists() else "does not exist"
        raise InputError(f"{model_dir}: the model folder {what}")
    config = (
        hashing.Config()  # type: ignore[no-untyped-call]
        .use_file_serialization(
            hashing_algorithm="sha256",
            chunk_size=CHUNK_SIZE,
            max_workers=max(2, os.cpu_count() or 1),
            allow_symlinks=False,
        )
        .set_ignored_paths(paths=list(ignore), ignore_git_paths=True)
    )
    try:
        manifest = config.hash(model_dir)
    except (OSError, ValueError) as exc:
        # model-signing refuses a symbolic link with ValueError, naming the path
        raise InputError(f"{model_dir}: cannot hash the model ({first_line(exc, 200)})") from None
    digests = {
        descriptor.identifier: descriptor.digest.digest_hex
        for descriptor in manifest.resource_descriptors()
    }
    return MappingProxyType(dict(sorted(digests.items())))
