"""The model's runtime environment, from the pinned files MLflow saved beside the model.

MLflow writes ``python_env.yaml`` (the Python version, and ``dependencies: [-r
requirements.txt]``) and ``requirements.txt`` (one ``name==version`` per line, sometimes
``-c constraints.txt``). This is the environment the model is served in, not modelci's
own. Every line must resolve to exactly one version (``==`` or ``===``, directly or
through a constraints file): a bill of materials that says "numpy, some version" lists
nothing, so anything else is an ``InputError`` naming the file and line.

Lines are parsed with ``packaging`` (the PyPA's parser, what pip itself uses). Errors
never quote a whole line: an index URL or a direct reference may carry a token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from modelci.errors import InputError, first_line
from modelci.sbom.inputs import Hash, Requirement, Runtime

REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"

#: pip's comment rule: ``#`` at the start or after whitespace
_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH_OPTION = re.compile(r"\s--hash[=\s]+(\S+)")
_INCLUDE = ("-r", "--requirement")
_CONSTRAINT = ("-c", "--constraint")
_EDITABLE = ("-e", "--editable")
_HASH_NAMES = {"sha256", "sha384", "sha512"}

LicenseLookup = Callable[[str, str], "str | None"]


@dataclass(frozen=True)
class _Line:
    text: str
    path: Path
    #: the line number, or ``dependencies[i]`` in python_env.yaml
    position: str

    @property
    def where(self) -> str:
        sep = ":" if self.position.isdigit() else ": "
        return f"{self.path}{sep}{self.position}"

    def source(self, root: Path) -> str:
        """``requirements.txt:3``: where, relative to the model folder."""
        try:
            name = self.path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            name = self.path.name
        sep = ":" if self.position.isdigit() else ": "
        return f"{name}{sep}{self.position}"


@dataclass(frozen=True)
class _Pinned:
    name: str
    version: str | None  # None: not pinned here (a constraint may pin it)
    specifier: str
    hashes: tuple[Hash, ...]
    line: _Line

    @property
    def where(self) -> str:
        return self.line.where


def read_runtime(model_dir: Path, *, license_of: LicenseLookup | None = None) -> Runtime:
    """Every distribution of the model's runtime with its one version.

    ``license_of(name, version)`` supplies licenses (``modelci.sbom.licenses.installed``
    reads them from this machine's distribution of the same version); without it every
    license stays unknown.
    """
    env_file = model_dir / PYTHON_ENV
    req_file = model_dir / REQUIREMENTS
    python_version: str | None = None
    read: list[str] = []
    if env_file.is_file():
        python_version, lines = _python_env(env_file, model_dir)
        read.append(PYTHON_ENV)
        if not lines and req_file.is_file():
            lines = list(_file_lines(req_file, model_dir))
    elif req_file.is_file():
        lines = list(_file_lines(req_file, model_dir))
    else:
        raise InputError(
            f"{model_dir}: no {REQUIREMENTS} or {PYTHON_ENV}: the model's runtime cannot be "
            "listed; save the model with MLflow (which writes both) or add a pinned "
            f"{REQUIREMENTS}"
        )
    resolver = _Resolver(model_dir, python_version)
    for line in lines:
        resolver.add(line)
    requirements = resolver.resolved()
    if license_of is not None:
        requirements = tuple(
            Requirement(r.name, r.version, r.hashes, license_of(r.name, r.version), r.source)
            for r in requirements
        )
    files = tuple(dict.fromkeys([*read, *resolver.files]))
    return Runtime(requirements=requirements, python_version=python_version, files=files)


def parse_requirements(path: Path, root: Path | None = None) -> tuple[Requirement, ...]:
    """The pinned requirements of one requirements file (``-r``/``-c`` followed inside
    ``root``, default: the file's folder)."""
    base = root if root is not None else path.parent
    resolver = _Resolver(base, None)
    for line in _file_lines(path, base):
        resolver.add(line)
    return resolver.resolved()


def _python_env(path: Path, root: Path) -> tuple[str | None, list[_Line]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: not readable as YAML ({first_line(exc, 120)})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: must be a mapping with 'python' and 'dependencies'")
    python = data.get("python")
    dependencies = data.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise InputError(f"{path}: 'dependencies' must be a list of requirement lines")
    lines = [
        _Line(str(item), path, f"dependencies[{index}]") for index, item in enumerate(dependencies)
    ]
    return (str(python) if python is not None else None), lines


def _file_lines(path: Path, root: Path) -> Iterator[_Line]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: requirements file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not readable ({first_line(exc, 120)})") from None
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = _COMMENT.sub("", raw).rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        if line:
            yield _Line(line, path, str(start))
    if pending.strip():
        yield _Line(pending.strip(), path, str(start))


class _Resolver:
    """Collects pins across included files; constraints pin what requirements leave open."""

    def __init__(self, root: Path, python_version: str | None) -> None:
        self.root = root
        self.python_version = python_version
        self.pins: dict[str, _Pinned] = {}
        self.constraints: dict[str, _Pinned] = {}
        self.files: list[str] = []
        self._seen: set[Path] = set()

    def add(self, line: _Line, *, constraint: bool = False) -> None:
        text = line.text
        option = text.split(None, 1)[0].split("=", 1)[0]
        pins: dict[str, _Pinned]
        if option in (*_INCLUDE, *_CONSTRAINT):
            target = text[len(option) :].strip().lstrip("=").strip()
            self._include(target, line, constraint=constraint or option in _CONSTRAINT)
            return
        if option in _EDITABLE:
            raise InputError(
                f"{line.where}: an editable install has no released version; "
                "pin the distribution as name==version"
            )
        if text.startswith("-"):
            return  # index, find-links and other pip options say where, not what
        pinned = self._parse(line)
        if pinned is None:
            return
        pins = self.constraints if constraint else self.pins
        known = pins.get(pinned.name)
        if known is not None and pinned.version is not None and known.version is not None:
            if known.version != pinned.version:
                raise InputError(
                    f"{line.where}: {pinned.name} is pinned to {pinned.version} here and to "
                    f"{known.version} at {known.where}; keep one version"
                )
            hashes = tuple(dict.fromkeys([*known.hashes, *pinned.hashes]))
            pins[pinned.name] = _Pinned(
                known.name, known.version, known.specifier, hashes, known.line
            )
        elif known is None or known.version is None:
            pins[pinned.name] = pinned

    def _include(self, target: str, line: _Line, *, constraint: bool) -> None:
        if not target:
            raise InputError(f"{line.where}: the option names no file")
        path = (line.path.parent / target).resolve()
        try:
            name = path.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise InputError(
                f"{line.where}: includes a file outside the model folder; "
                "keep the model's requirement files inside it"
            ) from None
        if path in self._seen:
            return
        self._seen.add(path)
        self.files.append(name)
        for included in _file_lines(path, self.root):
            self.add(included, constraint=constraint)

    def _parse(self, line: _Line) -> _Pinned | None:
        from packaging.requirements import InvalidRequirement
        from packaging.requirements import Requirement as Parsed
        from packaging.utils import canonicalize_name

        hashes = tuple(_hashes(line))
        text = _HASH_OPTION.sub("", " " + line.text).strip()
        try:
            parsed = Parsed(text)
        except InvalidRequirement as exc:
            raise InputError(
                f"{line.where}: not a requirement pip understands ({_reason(exc)})"
            ) from None
        name = str(canonicalize_name(parsed.name))
        if parsed.url:
            raise InputError(
                f"{line.where}: {name} comes from a URL or path, not a released version; "
                f"pin it as {name}==<version>"
            )
        if parsed.marker is not None and not parsed.marker.evaluate(self._environment()):
            return None
        specs = list(parsed.specifier)
        exact = [s for s in specs if s.operator in ("==", "===") and not s.version.endswith("*")]
        version = exact[0].version if len(exact) == 1 else None
        if version is not None and not all(s.contains(version, prereleases=True) for s in specs):
            version = None
        return _Pinned(name, version, str(parsed.specifier), hashes, line)

    def _environment(self) -> dict[str, str]:
        if not self.python_version:
            return {}
        parts = self.python_version.split(".")
        return {
            "python_version": ".".join(parts[:2]),
            "python_full_version": self.python_version,
        }

    def resolved(self) -> tuple[Requirement, ...]:
        result = []
        for name in sorted(self.pins):
            pinned = self.pins[name]
            version = pinned.version
            if version is None:
                constraint = self.constraints.get(name)
                version = constraint.version if constraint is not None else None
                if version is None:
                    shown = pinned.specifier or "no version"
                    raise InputError(
                        f"{pinned.where}: {name} is not pinned to one version ({shown}); "
                        f"pin it as {name}==<version> so the bill of materials can name it"
                    )
            result.append(
                Requirement(name, version, pinned.hashes, None, pinned.line.source(self.root))
            )
        return tuple(result)


def _hashes(line: _Line) -> Iterator[Hash]:
    for value in _HASH_OPTION.findall(" " + line.text):
        algorithm, _, digest = value.partition(":")
        if algorithm not in _HASH_NAMES or not re.fullmatch(r"[0-9a-fA-F]+", digest):
            raise InputError(
                f"{line.where}: --hash must be sha256:, sha384: or sha512: and hex digits"
            )
        yield Hash(algorithm, digest.lower())


def _reason(exc: Exception) -> str:
    # packaging quotes the line back on the lines after its reason: keep only the reason
    return first_line(exc, 200)
