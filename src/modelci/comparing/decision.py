"""The compare decision, typed: what compare writes to ``decision.json`` and promote reads back.

:meth:`Decision.to_bytes` writes the file (its sha256 is what compare records in the
registry and promote checks); :meth:`Decision.read` reads it back strictly, because the file
travels in the run folder, where anyone who can write the artifact can edit it: ``passed``
must be JSON ``true`` or ``false`` (``"false"`` is not false-y enough to trust), strings must
be strings, numbers numbers, and anything else is refused with one line naming the key.

Keys compare always writes but a reader does not need (the rules, the metrics) may be
absent; a key that is present must have its type. Nothing here imports numpy or MLflow:
promote reads decisions in a job that may not have them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelci.digests import sha256_of
from modelci.errors import GateFailed
from modelci.metrics import Direction

STEP = "compare"
#: the scope of a rule judged on every evaluation row (a slice's is ``column=value``)
ALL_ROWS = "all rows"


def finite(value: float | None) -> float | None:
    """NaN and infinities are not JSON: an undefined value is ``None`` (written as null)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class McNemar:
    """Rows only one model got right: ``candidate_only`` vs ``production_only``."""

    candidate_only: int
    production_only: int
    p_value: float
    method: str

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate_only_correct": self.candidate_only,
            "production_only_correct": self.production_only,
            "p_value": self.p_value,
            "method": self.method,
        }


@dataclass(frozen=True)
class RuleVerdict:
    """A rule applied to one comparison: the whole evaluation set or one slice.

    ``interval`` is the bootstrap interval of ``candidate - production`` in metric units;
    ``improvement_low``/``_high`` the same turned so that positive means better, and the
    rule passes when ``improvement_low > threshold``. Undefined values are ``None``.
    """

    metric: str
    scope: str
    rows: int
    #: "must improve" or "must not degrade"
    rule: str
    direction: Direction
    production: float | None
    candidate: float | None
    difference: float | None
    interval: tuple[float | None, float | None]
    confidence: float
    resamples: int
    improvement_low: float | None
    improvement_high: float | None
    threshold: float | None
    relative: bool
    passed: bool
    reason: str
    #: resamples where the metric was undefined (one class absent, say), left out
    undefined_resamples: int = 0
    #: for accuracy-type metrics with ``mcnemar: true``
    mcnemar: McNemar | None = None

    @property
    def on_all_rows(self) -> bool:
        return self.scope == ALL_ROWS

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": self.metric,
            "scope": self.scope,
            "rows": self.rows,
            "rule": self.rule,
            "direction": self.direction,
            "production": self.production,
            "candidate": self.candidate,
            "difference": self.difference,
            "interval": list(self.interval),
            "confidence": self.confidence,
            "resamples": self.resamples,
            "improvement_low": self.improvement_low,
            "improvement_high": self.improvement_high,
            "threshold": self.threshold,
            "relative": self.relative,
            "passed": self.passed,
            "reason": self.reason,
        }
        if self.undefined_resamples:
            data["undefined_resamples"] = self.undefined_resamples
        if self.mcnemar is not None:
            data["mcnemar"] = self.mcnemar.to_json()
        return data


@dataclass(frozen=True)
class SkippedSlice:
    """A slice too small to judge (fewer rows than ``min_rows``): reported, not judged."""

    metric: str
    scope: str
    rows: int
    rule: str
    #: why it was not judged ("12 rows < min_rows 30")
    reason: str

    @property
    def passed(self) -> bool:
        # Not a failure: a skipped slice never fails the gate (and never passes a rule).
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "scope": self.scope,
            "rows": self.rows,
            "rule": self.rule,
            "passed": True,
            "skipped": self.reason,
        }


SliceVerdict = RuleVerdict | SkippedSlice


@dataclass(frozen=True)
class Budget:
    """A limit the candidate must fit (``size_mb``, ``p95_latency_ms``); production's value
    is shown for reference, never gated."""

    name: str
    candidate: float | None
    production: float | None
    limit: float
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "candidate": self.candidate,
            "production": self.production,
            "limit": self.limit,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class ModelSide:
    """One model of the comparison as the decision names it.

    ``uri`` is how reports name it (its registry URI even when loaded from train's folder,
    which is then ``path``); ``digest`` is modelci's digest of the folder judged.
    """

    uri: str | None
    name: str | None
    version: str | None
    digest: str | None = None
    #: production only: the alias it was found behind
    alias: str | None = None
    #: candidate only: the local folder it was loaded from, when not its ``uri``
    path: str | None = None

    def candidate_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "name": self.name,
            "version": self.version,
            **({"path": self.path} if self.path is not None else {}),
            "digest": self.digest,
        }

    def production_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "version": self.version,
            "alias": self.alias,
            "name": self.name,
            "digest": self.digest,
        }


@dataclass(frozen=True)
class MetricValues:
    """Every metric the task has, on all rows, for each model (``None``: undefined here)."""

    candidate: Mapping[str, float | None] = field(default_factory=dict)
    production: Mapping[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"candidate": dict(self.candidate), "production": dict(self.production)}


@dataclass(frozen=True)
class Decision:
    """The verdict of one compare run and everything it was made from."""

    passed: bool
    summary: str
    candidate: ModelSide
    #: ``None``: there was no production model to compare with
    production: ModelSide | None
    task: str | None = None
    rows: int | None = None
    #: the evaluation set, as given
    data: str | None = None
    #: the evaluation set's digest (train's holdout: checked against the registry)
    data_digest: str | None = None
    #: the registry alias production was looked up behind
    alias: str | None = None
    confidence: float | None = None
    resamples: int | None = None
    seed: int | None = None
    #: the ``no_production`` policy in force
    no_production: str | None = None
    rules: tuple[RuleVerdict, ...] = ()
    slices: tuple[SliceVerdict, ...] = ()
    budgets: tuple[Budget, ...] = ()
    metrics: MetricValues = field(default_factory=MetricValues)
    notes: tuple[str, ...] = ()
    #: the registry's display URI (never with credentials)
    registry: str | None = None
    #: ``sha256:<hex>`` of the bytes this decision was read from; ``None`` when built here
    source_sha256: str | None = field(default=None, compare=False, repr=False)

    @property
    def sha256(self) -> str:
        """The digest of the decision file: as read, or as :meth:`to_bytes` writes it."""
        return self.source_sha256 or sha256_of(self.to_bytes())

    @property
    def judged_slices(self) -> list[RuleVerdict]:
        return [s for s in self.slices if isinstance(s, RuleVerdict)]

    def to_json(self) -> dict[str, Any]:
        return {
            "step": STEP,
            "passed": self.passed,
            "summary": self.summary,
            "task": self.task,
            "rows": self.rows,
            "data": self.data,
            "data_digest": self.data_digest,
            "alias": self.alias,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "seed": self.seed,
            "candidate": self.candidate.candidate_json(),
            "production": None if self.production is None else self.production.production_json(),
            "policy": {"no_production": self.no_production},
            "rules": [r.to_json() for r in self.rules],
            "slices": [s.to_json() for s in self.slices],
            "budgets": [b.to_json() for b in self.budgets],
            "metrics": self.metrics.to_json(),
            "notes": list(self.notes),
            "registry": self.registry,
        }

    def to_bytes(self) -> bytes:
        """The file's exact bytes: their digest is the evidence the registry records."""
        return (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8")

    @classmethod
    def read(cls, path: Path) -> Decision:
        """The decision at ``path``; a missing, unreadable or ill-typed one is GateFailed."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise GateFailed(
                f"{path}: no readable compare decision ({exc.strerror}); "
                "run `modelci compare` first"
            ) from None
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise GateFailed(f"{path}: not a JSON compare decision") from None
        if not isinstance(raw, dict):
            raise GateFailed(f"{path}: not a JSON compare decision")
        return _decision(_Fields(path, raw), sha256_of(data))


# --- strict reading ------------------------------------------------------------------------


class _Fields:
    """One JSON object of the decision, read key by key with the type each key must have."""

    def __init__(self, path: Path, raw: Mapping[str, Any], at: str = "") -> None:
        self.path, self.raw, self.at = path, raw, at

    def _where(self, key: str) -> str:
        if key.startswith("[") or not self.at:
            return f"{self.at}{key}"
        return f"{self.at}.{key}"

    def error(self, key: str, wanted: str) -> GateFailed:
        value = repr(self.raw.get(key))
        shown = value if len(value) <= 60 else value[:57] + "..."
        return GateFailed(f"{self.path}: {self._where(key)!r} must be {wanted}, not {shown}")

    def flag(self, key: str) -> bool:
        value = self.raw.get(key)
        if not isinstance(value, bool):
            raise self.error(key, "JSON true or false")
        return value

    def text(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.error(key, "a string")

    def required_text(self, key: str) -> str:
        value = self.raw.get(key)
        if not isinstance(value, str):
            raise self.error(key, "a string")
        return value

    def number(self, key: str) -> float | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise self.error(key, "a number")

    def required_number(self, key: str) -> float:
        value = self.number(key)
        if value is None:
            raise self.error(key, "a number")
        return value

    def count(self, key: str) -> int | None:
        value = self.raw.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise self.error(key, "an integer")

    def required_count(self, key: str) -> int:
        value = self.count(key)
        if value is None:
            raise self.error(key, "an integer")
        return value

    def child(self, key: str) -> _Fields | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, "a JSON object")
        return _Fields(self.path, value, self._where(key))

    def required_child(self, key: str) -> _Fields:
        found = self.child(key)
        if found is None:
            raise self.error(key, "a JSON object")
        return found

    def objects(self, key: str) -> list[_Fields]:
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, "a JSON array")
        at = self._where(key)
        found = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise _Fields(self.path, {f"[{i}]": item}, at).error(f"[{i}]", "a JSON object")
            found.append(_Fields(self.path, item, f"{at}[{i}]"))
        return found

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "a JSON array of strings")
        return tuple(value)

    def values(self, key: str) -> dict[str, float | None]:
        found = self.child(key)
        if found is None:
            return {}
        return {name: found.number(name) for name in found.raw}

    def pair(self, key: str) -> tuple[float | None, float | None]:
        value = self.raw.get(key)
        if not isinstance(value, list) or len(value) != 2:
            raise self.error(key, "a JSON array of two numbers")
        items = _Fields(self.path, {"[0]": value[0], "[1]": value[1]}, self._where(key))
        return items.number("[0]"), items.number("[1]")

    def direction(self, key: str) -> Direction:
        value = self.raw.get(key)
        if value == "higher":
            return "higher"
        if value == "lower":
            return "lower"
        raise self.error(key, '"higher" or "lower"')


def _decision(fields: _Fields, sha256: str) -> Decision:
    passed = fields.flag("passed")
    production = fields.child("production")
    policy = fields.child("policy")
    metrics = fields.child("metrics")
    return Decision(
        passed=passed,
        summary=fields.text("summary") or "",
        candidate=_side(fields.required_child("candidate")),
        production=None if production is None else _side(production),
        task=fields.text("task"),
        rows=fields.count("rows"),
        data=fields.text("data"),
        data_digest=fields.text("data_digest"),
        alias=fields.text("alias"),
        confidence=fields.number("confidence"),
        resamples=fields.count("resamples"),
        seed=fields.count("seed"),
        no_production=None if policy is None else policy.text("no_production"),
        rules=tuple(_rule(item) for item in fields.objects("rules")),
        slices=tuple(_slice(item) for item in fields.objects("slices")),
        budgets=tuple(_budget(item) for item in fields.objects("budgets")),
        metrics=MetricValues()
        if metrics is None
        else MetricValues(metrics.values("candidate"), metrics.values("production")),
        notes=fields.texts("notes"),
        registry=fields.text("registry"),
        source_sha256=sha256,
    )


def _side(fields: _Fields) -> ModelSide:
    return ModelSide(
        uri=fields.text("uri"),
        name=fields.text("name"),
        version=fields.text("version"),
        digest=fields.text("digest"),
        alias=fields.text("alias"),
        path=fields.text("path"),
    )


def _rule(fields: _Fields) -> RuleVerdict:
    test = fields.child("mcnemar")
    return RuleVerdict(
        metric=fields.required_text("metric"),
        scope=fields.required_text("scope"),
        rows=fields.required_count("rows"),
        rule=fields.required_text("rule"),
        direction=fields.direction("direction"),
        production=fields.number("production"),
        candidate=fields.number("candidate"),
        difference=fields.number("difference"),
        interval=fields.pair("interval"),
        confidence=fields.required_number("confidence"),
        resamples=fields.required_count("resamples"),
        improvement_low=fields.number("improvement_low"),
        improvement_high=fields.number("improvement_high"),
        threshold=fields.number("threshold"),
        relative=fields.flag("relative"),
        passed=fields.flag("passed"),
        reason=fields.required_text("reason"),
        undefined_resamples=fields.count("undefined_resamples") or 0,
        mcnemar=None
        if test is None
        else McNemar(
            candidate_only=test.required_count("candidate_only_correct"),
            production_only=test.required_count("production_only_correct"),
            p_value=test.required_number("p_value"),
            method=test.required_text("method"),
        ),
    )


def _slice(fields: _Fields) -> SliceVerdict:
    if "skipped" not in fields.raw:
        return _rule(fields)
    return SkippedSlice(
        metric=fields.required_text("metric"),
        scope=fields.required_text("scope"),
        rows=fields.required_count("rows"),
        rule=fields.required_text("rule"),
        reason=fields.required_text("skipped"),
    )


def _budget(fields: _Fields) -> Budget:
    return Budget(
        name=fields.required_text("name"),
        candidate=fields.number("candidate"),
        production=fields.number("production"),
        limit=fields.required_number("limit"),
        passed=fields.flag("passed"),
    )
