"""The one exception hierarchy of modelci.

Each class carries the process exit code it maps to; only the CLI entry point turns an
exception into an exit. Messages are single lines that name the file, key or column at
fault and say what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class ModelciError(Exception):
    """Base class: every error modelci raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        # One line, always: CI logs and annotations show only the first line.
        super().__init__(" ".join(message.split()) if "\n" in message else message)

    @property
    def message(self) -> str:
        return str(self)


class InputError(ModelciError):
    """Usage or input error: bad config, unreadable or malformed file. Exit 2."""

    exit_code = 2


class ConfigError(InputError):
    """modelci.yaml, a MODELCI_* variable or a flag holds a bad value."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.key = key


class DataError(InputError):
    """A dataset or contract cannot be read as given."""

    def __init__(self, path: str | Path, message: str, *, line: int | None = None) -> None:
        location = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{location}: {message}")
        self.path = str(path)
        self.line = line


class MissingExtra(InputError):
    """A step needs a package its install left out (``pip install modelci`` is the core)."""

    def __init__(self, what: str, extras: tuple[str, ...], module: str | None) -> None:
        wanted = ",".join(extras) or "all"
        missing = f" (no module named {module!r})" if module else ""
        super().__init__(
            f"{what} needs modelci's {wanted} extra{missing}: pip install 'modelci[{wanted}]'"
        )
        self.extras = extras
        self.module = module


class GateFailed(ModelciError):
    """A gate said no: invalid data, a worse model, an unsafe file, a bad signature. Exit 1."""

    exit_code = 1


class InfraError(ModelciError):
    """A service stayed unreachable after bounded retries (registry, tracking server). Exit 3."""

    exit_code = 3


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (at most ``limit`` characters), or its type
    when it has none: what a one-line error quotes of a library's own words."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


EXIT_OK = 0
EXIT_GATE = GateFailed.exit_code
EXIT_INPUT = InputError.exit_code
EXIT_INFRA = InfraError.exit_code
