"""Each input of a step, declared once.

An :class:`Input` names a setting of modelci.yaml (``key``) and how users reach it: the flag
``--<name>`` of the command, the action input and GitLab template input ``<name>``, the
variable ``MODELCI_<KEY>`` and the keyword argument ``<name_with_underscores>`` of the Python
API. Its type, choices, bounds and default are not repeated here: they are read from the
JSON Schema and the packaged defaults of the key, so a flag, an action input, a template
input, a docs table and the settings cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import click

from modelci import config as config_mod

Kind = Literal[
    "boolean", "integer", "number", "choice", "char", "object", "array", "list", "string"
]


@dataclass(frozen=True)
class Input:
    """One input of a step."""

    name: str
    #: the setting it sets (dotted); ``None`` for an input that only sets a variable (``env``)
    key: str | None
    help: str
    #: the command takes it as an argument (``DATA``) rather than a flag
    positional: bool = False
    #: a boolean's flag that turns it off (default ``--no-<name>``)
    off: str | None = None
    #: the variable an input without a setting is passed in (a token, say)
    env: str | None = None
    #: offered by the command / by the action and template
    cli: bool = True
    ci: bool = True
    #: the action input's default when it is not empty (``${{ github.token }}``)
    action_default: str = ""

    @property
    def flag(self) -> str:
        return self.name.upper().replace("-", "_") if self.positional else f"--{self.name}"

    @property
    def variable(self) -> str:
        if self.env:
            return self.env
        assert self.key is not None
        return config_mod.env_name(self.key)

    @property
    def argument(self) -> str:
        """The keyword argument of the Python API."""
        return self.name.replace("-", "_")

    @property
    def node(self) -> Mapping[str, Any]:
        if self.key is None:
            return {"type": "string"}
        found = config_mod.schema_at(self.key)
        if found is None:
            raise KeyError(f"input {self.name!r}: no setting {self.key!r} in the schema")
        return found

    @property
    def kind(self) -> Kind:
        node = self.node
        if "enum" in node:
            return "choice"
        types = node.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if "array" in types and (node.get("items") or {}).get("type") == "string":
            return "list"  # strings: a repeated flag, one per line in CI inputs
        for kind in ("boolean", "integer", "number", "object", "array"):
            if kind in types:
                return kind
        if node.get("maxLength") == 1 and node.get("minLength") == 1:
            return "char"
        return "string"

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self.node.get("enum", []) if v is not None)

    @property
    def default(self) -> Any:
        return None if self.key is None else config_mod.default(self.key)

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        node = self.node
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        return low, high

    @property
    def default_text(self) -> str:
        """The packaged default as users write it ("" when there is none)."""
        return _shown(self.default)

    def describe(self) -> str:
        """The help text with the default, as the command's help shows it."""
        shown = self.default_text
        return f"{self.help} [default: {shown}]" if shown else self.help

    def empty_means(self) -> str:
        """What an empty action or template input means."""
        if self.key is None:
            return ""
        shown = self.default_text
        return f"Empty uses {self.key} of modelci.yaml{f' (default {shown})' if shown else ''}."


def _shown(value: Any) -> str:
    if value is None or value == {} or value == []:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


@dataclass(frozen=True)
class Output:
    """A value a step hands to later CI steps (GitHub output, GitLab dotenv variable)."""

    name: str
    help: str


# --- the command line -------------------------------------------------------------------------


def _json_value(kind: Kind) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def parse(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON ({exc.msg})") from None
        wanted = dict if kind == "object" else list
        if not isinstance(parsed, wanted):
            raise click.BadParameter(f"must be a JSON {kind}")
        return parsed

    return parse


def click_params(inputs: tuple[Input, ...]) -> list[click.Parameter]:
    """The click arguments and options of these inputs (every value optional: ``None`` means
    "not given", so modelci.yaml and the defaults apply)."""
    params: list[click.Parameter] = []
    for item in inputs:
        if not item.cli:
            continue
        if item.positional:
            params.append(click.Argument([item.argument], required=False))
            continue
        kind = item.kind
        decls = [item.flag, item.argument]
        help_text = item.describe()
        if kind == "boolean":
            off = item.off or f"--no-{item.name}"
            params.append(
                click.Option([f"{item.flag}/{off}", item.argument], default=None, help=help_text)
            )
        elif kind == "choice":
            params.append(click.Option(decls, type=click.Choice(item.choices), help=help_text))
        elif kind == "integer":
            params.append(click.Option(decls, type=click.INT, help=help_text))
        elif kind == "number":
            params.append(click.Option(decls, type=click.FLOAT, help=help_text))
        elif kind == "list":
            params.append(click.Option(decls, multiple=True, help=f"{help_text} (repeatable)"))
        elif kind in ("object", "array"):
            params.append(click.Option(decls, callback=_json_value(kind), help=help_text))
        else:
            params.append(click.Option(decls, help=help_text))
    return params


def overrides(inputs: tuple[Input, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Config overrides (``key@flag``) from parsed command-line values."""
    found: dict[str, Any] = {}
    for item in inputs:
        if item.key is None or not item.cli:
            continue
        value = values.get(item.argument)
        if isinstance(value, tuple):  # a repeated flag: not given at all is ()
            value = list(value) or None
        if value is None:
            continue
        found[f"{item.key}@{item.flag}"] = value
    return found
