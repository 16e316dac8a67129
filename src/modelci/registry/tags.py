"""The tag names modelci writes on MLflow runs and model versions: one set, one place.

Train, compare and promote describe the same facts (commit, CI run, model digest) with these
names, so a registry can be searched the same way whichever step wrote a tag.
"""

from __future__ import annotations

PREFIX = "modelci."

# --- where and how a run came about (runs and versions) ------------------------------------
GIT_COMMIT = "modelci.git.commit"
GIT_BRANCH = "modelci.git.branch"
CI_RUN_URL = "modelci.ci.run_url"
CI_PROVIDER = "modelci.ci.provider"
CI_ACTOR = "modelci.ci.actor"
STEP = "modelci.step"
VERSION = "modelci.version"
MODE = "modelci.mode"

# --- what a model version is (set at registration) -----------------------------------------
RUN_ID = "modelci.run_id"
MODEL_DIGEST = "modelci.model.digest"
DATASET_DIGEST = "modelci.dataset.digest"
DATASET_SOURCE = "modelci.dataset.source"
#: digest of the evaluation rows train held out, which compare scores the models on
EVAL_DIGEST = "modelci.eval.digest"
#: ``pending`` from registration until the run folder records the version, then ``ready``;
#: ``orphaned`` when a crashed train never recorded it
STATE = "modelci.state"
#: ``<host>:<pid>`` of the train process while the version is pending
OWNER = "modelci.owner"
PENDING, READY, ORPHANED = "pending", "ready", "orphaned"

# --- the compare verdict on the candidate version (see registry.evidence) ------------------
COMPARE_PASSED = "modelci.compare.passed"
COMPARE_DECISION = "modelci.compare.decision_sha256"
COMPARE_CANDIDATE_DIGEST = "modelci.compare.candidate_digest"
COMPARE_CHAMPION = "modelci.compare.champion"
COMPARE_CHAMPION_DIGEST = "modelci.compare.champion_digest"
COMPARE_ALIAS = "modelci.compare.alias"
COMPARE_AT = "modelci.compare.at"
COMPARE_SUMMARY = "modelci.compare.summary"
#: the value of COMPARE_CHAMPION when there was no production model
NO_CHAMPION = "none"

# --- the version's signature (see steps/sign.py) ------------------------------------------
#: artifact path, in the version's run, of the model's signature bundle
SIGNATURE = "modelci.signature"
SIGNATURE_SHA256 = "modelci.signature.sha256"
#: artifact path of the signed run facts
RUN_FACTS = "modelci.run_facts"

# --- moving an alias (see registry.history) ------------------------------------------------
PROMOTE_ACTION = "modelci.promote.action"
PROMOTE_ALIAS = "modelci.promote.alias"
PROMOTE_AT = "modelci.promote.at"
PROMOTE_BY = "modelci.promote.by"
PROMOTE_PREVIOUS = "modelci.promote.previous"
PROMOTE_COMMIT = "modelci.promote.commit"
PROMOTE_RUN_URL = "modelci.promote.run_url"
PROMOTE_REASON = "modelci.promote.reason"
PROMOTE_COMPARE = "modelci.promote.compare"


def history(alias: str) -> str:
    """The tag that lists when a version served behind ``alias``."""
    return f"modelci.history.{alias}"


def replaced(alias: str) -> str:
    """The tag on a version that says which version replaced it behind ``alias``, and when."""
    return f"modelci.replaced.{alias}"
