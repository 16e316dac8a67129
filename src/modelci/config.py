"""modelci.yaml: load, layer and validate the project configuration.

Precedence, lowest first: packaged defaults → ``modelci.yaml`` → ``MODELCI_*`` environment
→ command-line flags. Every layer is validated against the packaged JSON Schema on its own,
so an error names where the bad value came from (file and key path, variable, or flag).
"""

from __future__ import annotations

import copy
import difflib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from modelci.errors import ConfigError
from modelci.yamlutil import UniqueKeyLoader

CONFIG_FILE = "modelci.yaml"
ENV_PREFIX = "MODELCI_"
#: MODELCI_* variables that are not settings of modelci.yaml
RESERVED_ENV = frozenset(
    {
        "MODELCI_CONFIG",
        "MODELCI_DEBUG",
        "MODELCI_VERSION",
        "MODELCI_CI",
        "MODELCI_HOME",
        "MODELCI_PIP_SPEC",
        "MODELCI_EXTRAS",
    }
)


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of modelci.yaml: the core file plus one fragment per step section.

    Each step owns ``schemas/sections/<section>.schema.json`` (the schema of its top-level
    key, with ``$defs`` of its own) so steps evolve their settings independently.
    """
    folder = resources.files("modelci").joinpath("schemas")
    data: dict[str, Any] = json.loads(folder.joinpath("modelci.schema.json").read_text("utf-8"))
    for name, fragment in _sections("schema.json"):
        section = json.loads(fragment)
        data.setdefault("$defs", {}).update(section.pop("$defs", {}))
        data["properties"][name] = section
    return data


@cache
def _defaults() -> dict[str, Any]:
    """The packaged defaults, parsed once; read-only (:func:`defaults` gives a copy)."""
    folder = resources.files("modelci").joinpath("schemas")
    # The project file's loader (libyaml's parser when PyYAML has it): every command reads
    # these at start.
    text = folder.joinpath("defaults.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - SafeLoader
    for name, fragment in _sections("defaults.yaml"):
        data[name] = yaml.load(fragment, Loader=UniqueKeyLoader)  # noqa: S506 - SafeLoader
    return data


def default(dotted: str) -> Any:
    """The packaged default of one setting (``None`` when it has none), without copying them
    all: the command line asks this for every flag it declares."""
    return copy.deepcopy(_at(_defaults(), dotted, None))


def _at(data: Mapping[str, Any], dotted: str, missing: Any) -> Any:
    """The value at a dotted key path, or ``missing``."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return missing
        node = node[part]
    return node


def _sections(suffix: str) -> list[tuple[str, str]]:
    folder = resources.files("modelci").joinpath("schemas/sections")
    found = [
        (entry.name.removesuffix(f".{suffix}"), entry.read_text("utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(f".{suffix}")
    ]
    return sorted(found)


def defaults() -> dict[str, Any]:
    return copy.deepcopy(_defaults())


@dataclass
class Config:
    """The effective configuration, and where each value came from."""

    data: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    #: folder that relative paths in the project file are taken from
    base_dir: Path = field(default_factory=Path.cwd)
    file: Path | None = None
    #: what the user should hear about but that does not stop the step (a misspelt variable)
    warnings: list[str] = field(default_factory=list)

    def get(self, dotted: str, default: Any = None) -> Any:
        return _at(self.data, dotted, default)

    def source(self, dotted: str) -> str:
        """Where a key was set, for error messages: ``modelci.yaml``, a variable or a flag."""
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            found = self.sources.get(".".join(parts[:i]))
            if found:
                return found
        return "default"

    def path(self, dotted: str, item: Any = None) -> Path | None:
        """A path setting (or ``item`` of a list setting), resolved against the project
        folder when it came from the file."""
        value = self.get(dotted) if item is None else item
        if value in (None, ""):
            return None
        p = Path(str(value)).expanduser()
        if not p.is_absolute() and self.source(dotted) == str(self.file):
            p = self.base_dir / p
        return p

    def where(self, dotted: str) -> str:
        """``source: key`` prefix for an error about a setting."""
        src = self.source(dotted)
        if src.startswith(ENV_PREFIX) or src.startswith("--"):
            return src
        return f"{src}: {dotted}"


def load(
    file: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    search: bool = True,
) -> Config:
    """Build the effective configuration from all layers.

    ``overrides`` maps dotted keys to flag values; ``None`` values mean "flag not given".
    ``overrides`` keys may name their flag as ``key@--flag`` for error messages.
    """
    env = os.environ if env is None else env
    merged = defaults()
    sources: dict[str, str] = {}
    path: Path | None = None
    if file is None and env.get("MODELCI_CONFIG"):
        file = env["MODELCI_CONFIG"]
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise ConfigError(
                "no such file; pass --config PATH to an existing modelci.yaml",
                source=str(path),
            )
    elif search and Path(CONFIG_FILE).is_file():
        path = Path(CONFIG_FILE)
    if path is not None:
        layer = read_file(path)
        _merge(merged, layer, sources, str(path))
    env_layer, env_sources = _env_layer(env)
    _merge(merged, env_layer, sources, None, env_sources)
    warnings = _misspelt(env)
    for raw_key, value in (overrides or {}).items():
        if value is None:
            continue
        key, _, flag = raw_key.partition("@")
        _set(merged, key, value)
        sources[key] = flag or f"--{key}"
        _validate_value(key, value, flag or f"--{key}")
    _validate(merged, "configuration")
    base = path.parent.resolve() if path else Path.cwd()
    return Config(merged, sources, base, path, warnings)


def read_file(path: Path) -> dict[str, Any]:
    """Parse and validate one project file on its own, naming the bad key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text; save the file as UTF-8", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read ({exc.strerror})", source=str(path)) from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{problem}; fix the YAML syntax", source=where) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping of settings (key: value)", source=str(path))
    _validate(data, str(path))
    return data


def check(path: str | Path) -> dict[str, Any]:
    """Validate one file; used by ``modelci config check``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("no such file", source=str(p))
    return read_file(p)


@cache
def _validator() -> Any:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    return cls(schema())


def _validate(data: Mapping[str, Any], source: str) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: (len(e.path), list(e.path)))
    if not errors:
        return
    error = _most_specific(errors[0])
    key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    raise ConfigError(_describe(error), source=source, key=key)


def _most_specific(error: Any) -> Any:
    # oneOf/anyOf failures hide the useful message in their context.
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


def _describe(error: Any) -> str:
    validator = error.validator
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {', '.join(map(repr, extra))}{hint}"
    if validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(repr, error.validator_value))}"
    if validator in ("maxLength", "minLength"):
        limit = error.validator_value
        bound = "at most" if validator == "maxLength" else "at least"
        return f"{error.instance!r} must be {bound} {limit} character(s) long"
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, got {type(error.instance).__name__} {error.instance!r}"
    return str(error.message)


def schema_at(dotted: str) -> dict[str, Any] | None:
    node: dict[str, Any] = schema()
    defs = node.get("$defs", {})
    for part in dotted.split("."):
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _validate_value(dotted: str, value: Any, source: str) -> None:
    node = schema_at(dotted)
    if node is None:
        raise ConfigError(f"no setting {dotted!r} in modelci.yaml", source=source)
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    sub = {**node, "$defs": schema().get("$defs", {})}
    errors = list(cls(sub).iter_errors(value))
    if errors:
        raise ConfigError(_describe(_most_specific(errors[0])), source=source)


def env_name(dotted: str) -> str:
    """``data.path`` → ``MODELCI_DATA__PATH``."""
    return ENV_PREFIX + "__".join(p.upper() for p in dotted.split("."))


def _env_layer(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    layer: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        raw = env[name]
        if raw == "":
            # CI systems pass unset inputs as empty strings: empty means "not given".
            continue
        dotted = ".".join(p.lower() for p in name[len(ENV_PREFIX) :].split("__"))
        node = schema_at(dotted)
        if node is None:
            if "__" in name:
                raise ConfigError(
                    f"no setting {dotted!r} in modelci.yaml; check the variable name",
                    source=name,
                )
            continue  # a variable of the user's own that happens to share our prefix
        value = _parse_env(raw, node)
        _validate_value(dotted, value, name)
        _set(layer, dotted, value)
        sources[dotted] = name
    return layer, sources


#: how alike a variable's name must be to a setting's to be taken for a misspelling of it;
#: below this it is taken for a variable of the user's own that shares our prefix
MISSPELT_CUTOFF = 0.8


def _top_level_variables() -> dict[str, str]:
    """Every top-level ``MODELCI_*`` name modelci reads, and what it sets."""
    found = {env_name(key): key for key in schema()["properties"]}
    found.update(dict.fromkeys(RESERVED_ENV, "a modelci variable"))
    return found


def _nearest(name: str) -> str | None:
    """The modelci variable a top-level ``MODELCI_*`` name that is none of them was probably
    meant to be. Names are compared without the shared prefix, which would make every name
    look alike (``MODELCI_TEAM`` is no misspelling of ``MODELCI_TRAIN``)."""
    known = _top_level_variables()
    if name in known or any(name.startswith(f"{k}_") for k in known):
        # MODELCI_TRAIN_RUN: a step's output (GitLab passes them on as dotenv variables)
        return None
    bare = {k[len(ENV_PREFIX) :]: k for k in known}
    found = difflib.get_close_matches(name[len(ENV_PREFIX) :], bare, n=1, cutoff=MISSPELT_CUTOFF)
    return bare[found[0]] if found else None


def _misspelt(env: Mapping[str, str]) -> list[str]:
    """One warning per top-level variable that looks like a misspelt setting. Nested ones
    (``__``) are errors (:func:`_env_layer`); names far from every setting are the user's."""
    warnings = []
    known = _top_level_variables()
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or "__" in name or env[name] == "":
            continue
        nearest = _nearest(name)
        if nearest is None:
            continue
        meaning = known[nearest]
        what = meaning if meaning == "a modelci variable" else f"setting {meaning!r}"
        warnings.append(
            f"{name} is not a modelci variable and is ignored; did you mean {nearest} ({what})?"
        )
    return warnings


def _parse_env(raw: str, node: Mapping[str, Any]) -> Any:
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "string" in types and not ({"object", "array"} & set(types)):
        return raw  # keep "123" or "yes" as the string the user typed
    strings = "array" in types and (node.get("items") or {}).get("type") == "string"
    if strings and not raw.lstrip().startswith("["):
        # a list of strings, one per line (what CI inputs pass), or a YAML flow list
        return [line.strip() for line in raw.splitlines() if line.strip()]
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def _merge(
    target: dict[str, Any],
    layer: Mapping[str, Any],
    sources: dict[str, str],
    source: str | None,
    layer_sources: Mapping[str, str] | None = None,
    prefix: str = "",
) -> None:
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        # Sections merge key by key; maps marked "x-merge: replace" in the schema (method
        # maps, per-column overrides) replace wholesale, so a user's map is the whole map.
        node = schema_at(dotted) or {}
        replace = node.get("x-merge") == "replace" or not node.get("properties")
        if isinstance(value, dict) and isinstance(target.get(key), dict) and not replace:
            _merge(target[key], value, sources, source, layer_sources, f"{dotted}.")
        else:
            target[key] = copy.deepcopy(value)
            src = source or (layer_sources or {}).get(dotted)
            if src:
                sources[dotted] = src
