"""``sbom.considerations`` of modelci.yaml: what the team says about the model's use.

The keys follow the CycloneDX model card's ``considerations`` with shorter names; SPDX's
AI profile gets the same text (``informationAboutApplication``, ``limitation``).

    sbom:
      considerations:
        users: [credit analysts]
        use_cases: [rank loan applications for manual review]
        limitations: [not validated on applicants under 21]
        tradeoffs: [favours recall over precision]
        ethical:
          - risk: applicants may be refused on proxies of protected attributes
            mitigation: quarterly disparate-impact review
        fairness:
          - group: applicants over 65
            benefits: faster decisions
            harms: higher false-negative rate
            mitigation: threshold reviewed per age band
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelci.errors import ConfigError
from modelci.sbom.inputs import Considerations, FairnessAssessment, Risk


def schema() -> dict[str, Any]:
    """The section's JSON Schema: the one in modelci.yaml's schema (sections/sbom)."""
    from modelci.config import schema_at

    found = schema_at("sbom.considerations")
    assert found is not None, "sbom.considerations is missing from the config schema"
    return found


def from_config(
    raw: Mapping[str, Any] | None, where: str = "sbom.considerations"
) -> Considerations:
    """Considerations from the config section; ``ConfigError`` naming the bad key."""
    if raw is None:
        return Considerations()
    if not isinstance(raw, Mapping):
        raise ConfigError("must be a mapping", key=where)
    keys = schema()["properties"]
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r}; use {', '.join(keys)}", key=where)
    return Considerations(
        users=_texts(raw, "users", where),
        use_cases=_texts(raw, "use_cases", where),
        limitations=_texts(raw, "limitations", where),
        tradeoffs=_texts(raw, "tradeoffs", where),
        ethical=tuple(
            Risk(_text(item, "risk", key, required=True) or "", _text(item, "mitigation", key))
            for key, item in _items(raw, "ethical", where, ("risk", "mitigation"))
        ),
        fairness=tuple(
            FairnessAssessment(
                _text(item, "group", key, required=True) or "",
                _text(item, "benefits", key),
                _text(item, "harms", key),
                _text(item, "mitigation", key),
            )
            for key, item in _items(
                raw, "fairness", where, ("group", "benefits", "harms", "mitigation")
            )
        ),
    )


def _texts(raw: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = raw.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError("must be a list of non-empty texts", key=f"{where}.{name}")
    return tuple(v.strip() for v in value)


def _items(
    raw: Mapping[str, Any], name: str, where: str, keys: tuple[str, ...]
) -> list[tuple[str, Mapping[str, Any]]]:
    value = raw.get(name) or []
    if not isinstance(value, list):
        raise ConfigError("must be a list of mappings", key=f"{where}.{name}")
    items = []
    for index, item in enumerate(value):
        key = f"{where}.{name}[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"must be a mapping with {', '.join(keys)}", key=key)
        unknown = sorted(set(item) - set(keys))
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r}; use {', '.join(keys)}", key=key)
        items.append((key, item))
    return items


def _text(item: Mapping[str, Any], name: str, key: str, *, required: bool = False) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be a non-empty text", key=f"{key}.{name}")
    return value.strip()
