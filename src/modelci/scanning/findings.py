"""What a scan produces: the globals it saw, its findings, and the report over a path."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from modelci.errors import InputError
from modelci.results import Severity

# A dotted path of Python identifiers: what pickle's find_class can import and walk.
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


class Global(NamedTuple):
    """A (module, name) pair a loader imports: ``name`` may be dotted (a qualified name)."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}:{self.name}"

    @property
    def dotted(self) -> str:
        """``module.name``: how skops and error messages of other tools spell it."""
        return f"{self.module}.{self.name}"

    @property
    def importable(self) -> bool:
        """Both parts are dotted identifiers, so a loader could import and resolve them."""
        return bool(_DOTTED.fullmatch(self.module) and _DOTTED.fullmatch(self.name))

    @classmethod
    def parse(cls, text: str, *, where: str = "scan.allow") -> Global:
        """Read ``module:name`` (the form of entry points and ``pkgutil.resolve_name``).

        ``module.name`` is refused: in ``a.b.C`` the split between module and name is
        ambiguous, and an allowlist must name exactly one object.
        """
        value = text.strip()
        module, sep, name = value.partition(":")
        if not sep:
            hint = value.rpartition(".")
            suggestion = f"'{hint[0]}:{hint[2]}'" if hint[1] else "'module:name'"
            raise InputError(
                f"{where}: {value!r} is not module:name; write it as {suggestion} "
                "(the module a loader imports, a colon, then the name in it)"
            )
        candidate = cls(module.strip(), name.strip())
        if not candidate.importable:
            raise InputError(
                f"{where}: {value!r} is not module:name with dotted Python identifiers on "
                "both sides, e.g. 'mypackage.features:Scaler'"
            )
        return candidate


@dataclass(frozen=True)
class Finding:
    """One reason a file is unsafe (``error``) or deserves a look (``warning``)."""

    #: path relative to the scanned root, with ``/`` separators
    file: str
    rule: str
    severity: Severity
    #: one line: what was found and what to do about it
    message: str
    #: byte offset of the opcode or member in the decoded stream it sits in
    offset: int | None = None
    #: pickle opcode name (``STACK_GLOBAL``, ``REDUCE``, ...) where one is at fault
    opcode: str | None = None
    global_: Global | None = None
    #: how the stream was reached inside the file: ``model.joblib > zlib``
    container: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "offset": self.offset,
            "opcode": self.opcode,
            "global": str(self.global_) if self.global_ else None,
            "container": self.container,
        }


@dataclass(frozen=True)
class ScannedFile:
    """A file of the scanned tree, as its content (not its name) identified it."""

    path: str
    #: what the bytes are: ``pickle``, ``joblib``, ``skops``, ``zip``, ``text``, ...
    format: str
    size: int
    #: (module, name) globals referenced, counting those inside nested streams
    globals_seen: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "size": self.size,
            "globals_seen": self.globals_seen,
        }


@dataclass(frozen=True)
class ScanReport:
    root: Path
    files: tuple[ScannedFile, ...]
    findings: tuple[Finding, ...]
    #: allowlisted globals the scanned files reference
    allowed_globals: frozenset[Global] = field(default_factory=frozenset)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def passed(self) -> bool:
        """No finding of severity ``error``: warnings only report."""
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the JSON report)."""
        return {
            "root": str(self.root),
            "passed": self.passed,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "files": [f.as_dict() for f in self.files],
            "findings": [f.as_dict() for f in self.findings],
            "allowed_globals": sorted(str(g) for g in self.allowed_globals),
        }
