"""No input of any action or template can run code or set variables.

Every input is read from the YAML files, so a new input (or a new action or template) is
covered without touching this file. A run may fail on nonsense input (exit 2 is expected);
what matters is that the sentinel file never appears and nothing was injected into
GITHUB_ENV / GITHUB_OUTPUT or the dotenv report.

Two canaries prove the harness would notice: a deliberately vulnerable action and template,
run with the same payloads, do create the sentinel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.actions.ghrunner import Runner
from tests.actions.gitlabci import make_project, run_pipeline
from tests.actions.harness import REPO, write_project

pytestmark = pytest.mark.actions

SENTINEL = "SENTINEL"

#: payloads, with {s} standing for the sentinel's absolute path
PAYLOADS = {
    "subshell": "$(touch {s})",
    "backticks": "`touch {s}`",
    "quote-break": '";touch {s};#',
    "single-quote-break": "';touch {s};#",
    "newline": "x\ntouch {s}",
    "env-line": "x\nFOO=bar\nFOO<<EOF\nbar\nEOF",
}
GITLAB_PAYLOADS = {**PAYLOADS, "interpolation": "$[[ inputs.data ]]$(touch {s})${{HOME}}"}


def action_dirs() -> list[Path]:
    return [REPO, *sorted(p.parent for p in (REPO / "actions").glob("*/action.yml"))]


def _label(folder: Path) -> str:
    return "root" if folder == REPO else folder.name


@dataclass(frozen=True)
class Case:
    """One run: ``inputs`` all receive the payload; ``extra`` are fixed, valid inputs."""

    where: str
    inputs: tuple[str, ...]
    extra: tuple[tuple[str, str], ...] = ()
    must_reach_end: bool = False
    #: an input GitLab checks against a fixed list: no payload can match, one shows it
    one_payload: bool = False

    @property
    def id(self) -> str:
        fixed = ",".join(f"{k}={v}" for k, v in self.extra)
        return f"{self.where}:{'+'.join(self.inputs)}" + (f"[{fixed}]" if fixed else "")


# Runs are grouped to stay fast as steps are added: every input that no check guards gets
# the payload in the same run (which must get as far as the modelci command), and each
# guarded input (checked in the setup step, or by GitLab's options/regex) gets a run of
# its own, which stops early.


def _first_step_with(name: str) -> str:
    for path in sorted((REPO / "actions").glob("*/action.yml")):
        if name in (yaml.safe_load(path.read_text()).get("inputs") or {}):
            return path.parent.name
    raise AssertionError(f"no step action has input {name!r}")


def github_cases() -> list[Case]:
    cases = []
    for folder in action_dirs():
        meta = yaml.safe_load((folder / "action.yml").read_text())
        steps = meta["runs"]["steps"]
        checked = {
            name
            for name in meta.get("inputs") or {}
            if f"inputs.{name} " in yaml.safe_dump(steps[0].get("env") or {})
            or f"inputs.{name}}}" in yaml.safe_dump(steps[0].get("env") or {})
        }
        where = _label(folder)
        for name in sorted(checked):
            extra: tuple[tuple[str, str], ...] = ()
            if where == "root" and name != "step":
                # run a step whose own checks see this input
                extra = (("step", _first_step_with(name)),)
            cases.append(Case(where, (name,), extra))
        if where == "root":
            # The root action runs one step's script: each step's inputs in a run of their own.
            for step in sorted(p.parent.name for p in (REPO / "actions").glob("*/action.yml")):
                sub = yaml.safe_load((REPO / "actions" / step / "action.yml").read_text())
                free = tuple(sorted(set(sub.get("inputs") or {}) - checked))
                cases.append(Case(where, free, (("step", step),), must_reach_end=True))
        else:
            free = tuple(sorted(set(meta.get("inputs") or {}) - checked))
            cases.append(Case(where, free, must_reach_end=True))
    return cases


def gitlab_cases() -> list[Case]:
    cases = []
    for template in sorted((REPO / "gitlab-templates").glob("*.yml")):
        spec = next(yaml.safe_load_all(template.read_text()))
        if not (isinstance(spec, dict) and "spec" in spec):
            continue
        inputs = spec["spec"].get("inputs") or {}
        # options/regex are checked by GitLab; a stage must be one the pipeline declares
        guarded = {n for n, s in inputs.items() if "options" in (s or {}) or "regex" in (s or {})}
        guarded.add("stage")
        for name in sorted(guarded):
            listed = "options" in (inputs[name] or {})
            cases.append(Case(template.name, (name,), one_payload=listed))
        if "modelci-source" in inputs:
            # Only used when no modelci of modelci-version is installed: make it so.
            cases.append(Case(template.name, ("modelci-source",), (("modelci-version", "9.9.9"),)))
        free = tuple(sorted(set(inputs) - guarded - {"modelci-source"}))
        cases.append(Case(template.name, free, must_reach_end=True))
    return cases


def _payload(kind: str, table: dict[str, str], sentinel: Path) -> str:
    return table[kind].format(s=sentinel)


def _assert_nothing_injected(sentinel: Path, *texts: str) -> None:
    assert not sentinel.exists(), "an input value was executed as code"
    for text in texts:
        assert "FOO=bar" not in text.splitlines()


GITHUB = [(c, p) for c in github_cases() for p in PAYLOADS]
GITLAB = [
    (c, p) for c in gitlab_cases() for p in (["subshell"] if c.one_payload else GITLAB_PAYLOADS)
]


@pytest.mark.parametrize(("case", "payload"), GITHUB, ids=[f"{c.id}-{p}" for c, p in GITHUB])
def test_github_inputs_are_never_code(
    runner: Runner, action_checkout: Path, tmp_path: Path, case: Case, payload: str
) -> None:
    sentinel = tmp_path / SENTINEL
    folder = action_checkout if case.where == "root" else action_checkout / "actions" / case.where
    value = _payload(payload, PAYLOADS, sentinel)
    inputs = {**dict(case.extra), **dict.fromkeys(case.inputs, value)}

    run = runner.run(folder, inputs)

    assert run.exit_code in (0, 1, 2), run.stdout + run.stderr
    _assert_nothing_injected(sentinel)
    assert "FOO" not in run.env_set
    assert "FOO" not in run.outputs
    for step in run.steps:
        assert "FOO" not in step.outputs
    if case.must_reach_end:
        # the payloads really reached the step that runs modelci
        ran = [s for s in run.steps if s.id.startswith("run") and s.outcome != "skipped"]
        assert len(ran) == 1, [(s.id, s.outcome) for s in run.steps]


@pytest.mark.parametrize(("case", "payload"), GITLAB, ids=[f"{c.id}-{p}" for c, p in GITLAB])
def test_gitlab_inputs_are_never_code(
    tmp_path: Path, modelci_bin: Path, case: Case, payload: str
) -> None:
    sentinel = tmp_path / SENTINEL
    value = _payload(payload, GITLAB_PAYLOADS, sentinel)
    inputs = {**dict(case.extra), **dict.fromkeys(case.inputs, value)}
    template = REPO / "gitlab-templates" / case.where
    project = make_project(write_project(tmp_path / "p"), template, inputs)

    run = run_pipeline(project, [modelci_bin], schema_validation=False)

    dotenv = [p.read_text() for p in run.artifacts("").rglob("outputs.env")]
    _assert_nothing_injected(sentinel, *dotenv)
    if case.must_reach_end:
        job = f"modelci-{template.stem}"
        assert run.passed(job) or run.failed(job), run.output  # the job ran
        assert f"$ modelci {template.stem}" in run.job_log(job) or "modelci: error" in run.output


# ------------------------------------------------------------------ canaries

VULNERABLE_ACTION = """\
name: vulnerable
description: writes an input into run, the mistake the real actions must not make
inputs:
  data: {description: d, default: ''}
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "${{ inputs.data }}"; echo "value=${{ inputs.data }}" >> "$GITHUB_ENV"
    - shell: bash
      if: always()
      run: echo ${{ inputs.data }}
"""

VULNERABLE_TEMPLATE = """\
spec:
  inputs:
    data: {default: ''}
---
vulnerable:
  script:
    - echo "$[[ inputs.data ]]"
"""


@pytest.mark.parametrize("payload", ["subshell", "backticks", "quote-break", "newline"])
def test_canary_vulnerable_action_is_caught(tmp_path: Path, payload: str) -> None:
    folder = tmp_path / "vulnerable"
    folder.mkdir()
    (folder / "action.yml").write_text(VULNERABLE_ACTION)
    (tmp_path / "ws").mkdir()
    (tmp_path / "tmp").mkdir()
    runner = Runner(
        tmp_path / "ws", tmp_path / "tmp", tmp_path / "cache", {"PATH": "/usr/bin:/bin"}
    )
    sentinel = tmp_path / SENTINEL

    runner.run(folder, {"data": _payload(payload, PAYLOADS, sentinel)})

    assert sentinel.exists()


def test_canary_env_line_is_caught(tmp_path: Path) -> None:
    folder = tmp_path / "vulnerable"
    folder.mkdir()
    (folder / "action.yml").write_text(VULNERABLE_ACTION)
    (tmp_path / "ws").mkdir()
    (tmp_path / "tmp").mkdir()
    runner = Runner(
        tmp_path / "ws", tmp_path / "tmp", tmp_path / "cache", {"PATH": "/usr/bin:/bin"}
    )

    run = runner.run(folder, {"data": "x\nFOO=bar"})

    assert run.env_set.get("FOO") == "bar"


@pytest.mark.parametrize("payload", ["subshell", "backticks", "quote-break"])
def test_canary_vulnerable_template_is_caught(tmp_path: Path, payload: str) -> None:
    template = tmp_path / "vulnerable.yml"
    template.write_text(VULNERABLE_TEMPLATE)
    sentinel = tmp_path / SENTINEL
    project = make_project(
        tmp_path / "p", template, {"data": _payload(payload, PAYLOADS, sentinel)}
    )

    run = run_pipeline(project, schema_validation=False)

    assert sentinel.exists(), run.output
