"""The files of a model folder with their SHA-256, as the bill of materials lists them.

The same files model-signing signs: every regular file, paths relative to the folder,
git metadata left out, a symbolic link refused (model-signing refuses it too, so a folder
the SBOM lists is one that can be signed). When the folder is signed, pass the signature's
own digests instead (``ModelFile(path, sha256)`` for each) and nothing is hashed twice.
"""

from __future__ import annotations

from pathlib import Path

from modelci.digests import file_sha256
from modelci.errors import InputError
from modelci.sbom.inputs import ModelFile

#: what model-signing leaves out of a model by default
IGNORED = frozenset({".git", ".gitattributes", ".github", ".gitignore"})


def model_files(model_dir: Path) -> tuple[ModelFile, ...]:
    """Every file of ``model_dir``, sorted by path; ``InputError`` when it is no folder."""
    if not model_dir.is_dir():
        raise InputError(f"{model_dir}: the model folder does not exist or is not a folder")
    files = []
    for path in sorted(model_dir.rglob("*")):
        relative = path.relative_to(model_dir)
        if relative.parts[0] in IGNORED:
            continue
        if path.is_symlink():
            raise InputError(
                f"{path}: is a symbolic link; replace it with the file it points to "
                "(a signed model may hold no links)"
            )
        if path.is_file():
            files.append(ModelFile(relative.as_posix(), file_sha256(path)))
    if not files:
        raise InputError(f"{model_dir}: the model folder holds no files")
    return tuple(files)
