"""The compare verdict, recorded on the candidate's model version where promote re-reads it.

The run folder is an artifact that anyone who can write it may change between jobs, so
promote does not take its word: compare writes the verdict on the candidate's registered
version (these tags), and promote moves the alias only when the decision file it is given
hashes to the digest recorded there, names the same candidate digest the registry holds
for that version, and was made against the champion that is still behind the alias. Once
the model is signed, the same decision digest travels in the signed statement too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modelci.registry import tags


@dataclass(frozen=True)
class GateRecord:
    """What compare recorded on a candidate version."""

    passed: bool
    #: sha256 of the decision file's bytes (``sha256:<hex>``)
    decision_sha256: str
    candidate_digest: str
    #: the version behind the alias when compare decided (``None``: there was none)
    champion: str | None
    champion_digest: str | None
    alias: str
    at: str
    summary: str = ""

    def to_tags(self) -> dict[str, str]:
        return {
            tags.COMPARE_PASSED: "true" if self.passed else "false",
            tags.COMPARE_DECISION: self.decision_sha256,
            tags.COMPARE_CANDIDATE_DIGEST: self.candidate_digest,
            tags.COMPARE_CHAMPION: self.champion or tags.NO_CHAMPION,
            tags.COMPARE_CHAMPION_DIGEST: self.champion_digest or "",
            tags.COMPARE_ALIAS: self.alias,
            tags.COMPARE_AT: self.at,
            # MLflow caps tag values; the summary is for people, the digest is the evidence
            tags.COMPARE_SUMMARY: self.summary[:1000],
        }

    @classmethod
    def from_tags(cls, found: Mapping[str, str]) -> GateRecord | None:
        """The record on a version, or ``None`` when compare never recorded one there."""
        if tags.COMPARE_DECISION not in found:
            return None
        champion = found.get(tags.COMPARE_CHAMPION, tags.NO_CHAMPION)
        return cls(
            passed=found.get(tags.COMPARE_PASSED) == "true",
            decision_sha256=found.get(tags.COMPARE_DECISION, ""),
            candidate_digest=found.get(tags.COMPARE_CANDIDATE_DIGEST, ""),
            champion=None if champion == tags.NO_CHAMPION else champion,
            champion_digest=found.get(tags.COMPARE_CHAMPION_DIGEST) or None,
            alias=found.get(tags.COMPARE_ALIAS, ""),
            at=found.get(tags.COMPARE_AT, ""),
            summary=found.get(tags.COMPARE_SUMMARY, ""),
        )
