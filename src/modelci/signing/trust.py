"""Sigstore trust configuration: the public instance's root bundled in sigstore-python, used
offline, or a client trust config file for another instance."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from modelci import fsutil
from modelci.errors import InputError, first_line

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig

PRODUCTION = "the Sigstore public instance's trust root bundled in sigstore-python"


def describe(path: Path | None) -> str:
    return f"the trust config {path}" if path is not None else PRODUCTION


def load(path: Path | None) -> ClientTrustConfig:
    """The trust config at ``path``, or the bundled production one without touching the
    network (verification needs no refresh: a bundle carries its own log proofs)."""
    from sigstore.models import ClientTrustConfig

    if path is None:
        # sigstore-python warns that offline mode skips updates: that is the point here.
        tuf_log = logging.getLogger("sigstore._internal.tuf")
        level = tuf_log.level
        tuf_log.setLevel(logging.ERROR)
        try:
            return _production_offline()
        finally:
            tuf_log.setLevel(level)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the trust config: {exc.strerror or exc}") from None
    try:
        return ClientTrustConfig.from_json(text)
    except Exception as exc:  # pydantic and sigstore both raise here; the file is at fault
        raise InputError(
            f"{path}: not a Sigstore client trust config: {first_line(exc, 160)}"
        ) from None


def _production_offline() -> ClientTrustConfig:
    """sigstore-python's offline production config: the trust root in its cache
    (~/.cache/sigstore-python/tuf/...), seeded from the copy bundled in the package on
    first use. That seeding is a plain write, so a second process starting at the same
    moment can read half a file: read again before giving up."""
    from sigstore.models import ClientTrustConfig

    failure: Exception = RuntimeError("no attempt")
    for _ in range(3):
        try:
            return ClientTrustConfig.production(offline=True)
        except Exception as exc:
            failure = exc
            time.sleep(0.2)
    raise InputError(f"cannot read sigstore-python's trust root: {first_line(failure, 160)}")


def file_for(path: Path | None, folder: Path) -> Path:
    """A trust config file for model-signing, which takes one only as a path.

    For the bundled production root we serialise sigstore-python's offline config into
    ``folder``. sigstore-python has no public serialiser for it, so this reads its
    ``_inner`` (a public sigstore-models ``ClientTrustConfig``) — the only private
    attribute modelci touches, pinned by the ``sigstore<5`` requirement and by the tests
    that verify the public bundles through it.
    """
    if path is not None:
        load(path)  # refuse a bad file with our message before model-signing sees it
        return path
    config = load(None)
    return fsutil.write_text(folder / "trust_config.json", config._inner.to_json())
