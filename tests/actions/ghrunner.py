"""A small executor for GitHub composite actions, so tests run our action.yml files for real.

No GitHub runner is reachable from these machines. This reproduces the parts of the runner
our actions rely on, with the runner's semantics:

- inputs with their defaults (``required`` is not enforced, as on GitHub);
- ``${{ }}`` expressions: ``inputs.*``, ``steps.<id>.outputs.*`` / ``outcome`` /
  ``conclusion``, ``env.*``, ``github.*`` (``action_path``, ``workspace``), ``runner.*``,
  literals, ``==``/``!=``/``<``/``>``/``&&``/``||``/``!``, parentheses, ``success()``,
  ``always()``, ``failure()``, ``cancelled()``, ``contains()``, ``startsWith()``,
  ``endsWith()``, ``format()``. Like the runner, an expression inside ``run:`` is replaced
  textually *before* the shell sees the script, so an action that wrote ``${{ inputs.x }}``
  into ``run:`` is injectable here exactly as on GitHub;
- ``GITHUB_OUTPUT``/``GITHUB_ENV``/``GITHUB_PATH``/``GITHUB_STEP_SUMMARY`` files, including
  the ``name<<DELIMITER`` form, one fresh file per step;
- ``shell: bash`` as ``bash --noprofile --norc -eo pipefail {0}``, ``sh``, ``python``;
  ``working-directory``; ``if:`` with the implicit ``success()``; ``continue-on-error``;
- ``uses: actions/cache@...`` is a cache miss (logged); ``uses: ./path`` runs a local
  composite action; anything else is refused.
- ``::error``/``::warning``/``::notice`` workflow commands on stdout become annotations.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: the shells of ``shell:``, as the runner spells them
SHELLS = {
    "bash": "bash --noprofile --norc -eo pipefail {0}",
    "sh": "sh -e {0}",
    "python": "python {0}",
}
_EXT = {"bash": ".sh", "sh": ".sh", "python": ".py"}


class ActionError(Exception):
    """The action file uses something this executor (or GitHub) does not support."""


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, ident, op, (, ), [, ], ",", ., end
    value: Any


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))
    | (?P<str>'(?:[^']|'')*')
    | (?P<op>==|!=|<=|>=|&&|\|\||[<>!])
    | (?P<punct>[()\[\],.*])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ActionError(f"cannot parse expression at {text[pos:]!r}")
        pos = m.end()
        if m.group("num") is not None:
            raw = m.group("num")
            tokens.append(_Tok("num", float(int(raw, 16)) if "0x" in raw else float(raw)))
        elif m.group("str") is not None:
            tokens.append(_Tok("str", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("op") is not None:
            tokens.append(_Tok("op", m.group("op")))
        elif m.group("punct") is not None:
            tokens.append(_Tok(m.group("punct"), m.group("punct")))
        else:
            tokens.append(_Tok("ident", m.group("ident")))
    tokens.append(_Tok("end", None))
    return tokens


class _Parser:
    """Recursive descent over GitHub's expression grammar (the subset we use)."""

    def __init__(self, text: str, context: Mapping[str, Any], funcs: Mapping[str, Any]):
        self.tokens = _tokenize(text)
        self.i = 0
        self.context = context
        self.funcs = funcs

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self, kind: str | None = None, value: Any = None) -> _Tok:
        tok = self.tokens[self.i]
        if (kind and tok.kind != kind) or (value is not None and tok.value != value):
            raise ActionError(f"expected {value or kind}, found {tok.value!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        self.take("end")
        return value

    def or_(self) -> Any:
        left = self.and_()
        while self.peek().kind == "op" and self.peek().value == "||":
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.cmp()
        while self.peek().kind == "op" and self.peek().value == "&&":
            self.take()
            right = self.cmp()
            left = right if truthy(left) else left
        return left

    def cmp(self) -> Any:
        left = self.unary()
        while self.peek().kind == "op" and self.peek().value in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take().value
            right = self.unary()
            left = _compare(op, left, right)
        return left

    def unary(self) -> Any:
        if self.peek().kind == "op" and self.peek().value == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while True:
            tok = self.peek()
            if tok.kind == ".":
                self.take()
                name = self.take().value
                value = _member(value, str(name))
            elif tok.kind == "[":
                self.take()
                key = self.or_()
                self.take("]")
                value = _member(value, key)
            else:
                return value

    def primary(self) -> Any:
        tok = self.take()
        if tok.kind in ("num", "str"):
            return tok.value
        if tok.kind == "(":
            value = self.or_()
            self.take(")")
            return value
        if tok.kind == "ident":
            name = str(tok.value)
            if self.peek().kind == "(":
                self.take("(")
                args: list[Any] = []
                while self.peek().kind != ")":
                    args.append(self.or_())
                    if self.peek().kind == ",":
                        self.take(",")
                self.take(")")
                func = self.funcs.get(name.lower())
                if func is None:
                    raise ActionError(f"unknown function {name}()")
                return func(*args)
            lowered = name.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if lowered == "null":
                return None
            if name not in self.context:
                raise ActionError(f"unknown context {name!r}")
            return self.context[name]
        raise ActionError(f"unexpected {tok.value!r}")


def _member(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        lowered = {str(k).lower(): v for k, v in value.items()}
        return lowered.get(str(key).lower())
    if isinstance(value, list) and isinstance(key, float) and 0 <= int(key) < len(value):
        return value[int(key)]
    return None


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float | int):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def _compare(op: str, left: Any, right: Any) -> bool:
    # GitHub compares strings case-insensitively and coerces mismatched types to numbers.
    if isinstance(left, str) and isinstance(right, str):
        a: Any = left.casefold()
        b: Any = right.casefold()
    elif type(left) is type(right) and isinstance(left, dict | list):
        a, b = id(left), id(right)
    else:
        a, b = _number(left), _number(right)
        if math.isnan(a) or math.isnan(b):
            return op == "!="
    results: dict[str, bool] = {
        "==": a == b,
        "!=": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }
    return results[op]


def to_string(value: Any) -> str:
    """How the runner renders an expression result inside a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


# ---------------------------------------------------------------- results


@dataclass
class StepRun:
    id: str
    name: str
    outcome: str  # success, failure, skipped
    conclusion: str
    exit_code: int | None
    outputs: dict[str, str]
    stdout: str = ""
    stderr: str = ""


@dataclass
class Annotation:
    level: str
    message: str
    properties: dict[str, str]


@dataclass
class ActionRun:
    """What a run left behind: the action's outputs, each step, the summary and the log."""

    outputs: dict[str, str]
    steps: list[StepRun]
    summary: str
    env_set: dict[str, str]
    path_added: list[str]
    annotations: list[Annotation]
    log: list[str] = field(default_factory=list)

    @property
    def failed_step(self) -> StepRun | None:
        return next((s for s in self.steps if s.outcome == "failure"), None)

    @property
    def exit_code(self) -> int:
        """Exit code of the step that failed the action, 0 when it succeeded."""
        step = self.failed_step
        return 0 if step is None or step.exit_code is None else step.exit_code

    @property
    def conclusion(self) -> str:
        return "failure" if self.failed_step else "success"

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)


# ---------------------------------------------------------------- file commands


def parse_file_command(text: str, source: str) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT / GITHUB_ENV file: ``name=value`` or ``name<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        i += 1
        if line == "":
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc > 0 and (eq < 0 or heredoc < eq):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            if not name or not delimiter:
                raise ActionError(f"{source}: invalid format {line!r}")
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise ActionError(f"{source}: delimiter {delimiter!r} not found")
                current = lines[i].removesuffix("\r")
                i += 1
                if current == delimiter:
                    break
                body.append(current)
            values[name] = "\n".join(body)
        elif eq > 0:
            values[line[:eq]] = line[eq + 1 :]
        else:
            raise ActionError(f"{source}: invalid format {line!r}")
    return values


_COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def _unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def parse_annotations(stdout: str) -> list[Annotation]:
    found: list[Annotation] = []
    for line in stdout.splitlines():
        m = _COMMAND.match(line)
        if not m:
            continue
        props: dict[str, str] = {}
        for item in (m.group(2) or "").split(","):
            if "=" in item:
                key, _, value = item.partition("=")
                props[key.strip()] = _unescape(value).replace("%3A", ":").replace("%2C", ",")
        found.append(Annotation(m.group(1), _unescape(m.group(3)), props))
    return found


# ---------------------------------------------------------------- the runner


@dataclass
class Runner:
    """One job's worth of runner state: workspace, temp, tool cache and the base environment."""

    workspace: Path
    temp: Path
    tool_cache: Path
    base_env: dict[str, str]
    timeout: float = 900.0
    log: list[str] = field(default_factory=list)

    def run(
        self,
        action_dir: Path,
        inputs: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ActionRun:
        """Run the composite action in ``action_dir`` as ``uses:`` with ``with: inputs``."""
        state = _JobState(env=dict(env or {}), path=[], summary=[], annotations=[])
        return self._run_action(action_dir, dict(inputs or {}), state)

    # ------------------------------------------------------------ internals

    def _run_action(self, action_dir: Path, given: dict[str, str], state: _JobState) -> ActionRun:
        meta = load_action(action_dir)
        runs = meta.get("runs") or {}
        if runs.get("using") != "composite":
            raise ActionError(f"{action_dir}: only composite actions are supported")
        declared: dict[str, Any] = meta.get("inputs") or {}
        unexpected = sorted(set(given) - set(declared))
        if unexpected:
            # The runner warns and goes on; tests see the line in the log.
            self.log.append(f"##[warning]Unexpected input(s) {', '.join(unexpected)}")
        github = {
            "action_path": str(action_dir),
            "workspace": str(self.workspace),
            "event_name": "push",
            "repository": "octo/project",
            "sha": "0" * 40,
            "ref": "refs/heads/main",
        }
        runner = {
            "temp": str(self.temp),
            "tool_cache": str(self.tool_cache),
            "os": "Linux",
            "arch": "X64",
            "name": "modelci-test-runner",
        }
        context: dict[str, Any] = {"github": github, "runner": runner, "env": state.env}
        inputs: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in given:
                inputs[name] = str(given[name])
            else:
                default = (spec or {}).get("default")
                inputs[name] = "" if default is None else self._render(str(default), context)
        context["inputs"] = inputs
        steps_ctx: dict[str, Any] = {}
        context["steps"] = steps_ctx
        results: list[StepRun] = []
        job_failed = False
        for index, step in enumerate(runs.get("steps") or []):
            step_id = str(step.get("id") or f"__{index}")
            name = str(step.get("name") or step.get("run") or step.get("uses") or step_id)
            status = {"failed": job_failed}
            funcs = _functions(status)
            condition = step.get("if")
            if not self._should_run(condition, context, funcs):
                self.log.append(f"skip {name}")
                result = StepRun(step_id, name, "skipped", "skipped", None, {})
            else:
                result = self._run_step(step, step_id, name, action_dir, context, state)
            if result.outcome == "failure" and not _truthy_flag(
                step.get("continue-on-error"), context
            ):
                job_failed = True
            elif result.outcome == "failure":
                result.conclusion = "success"
            results.append(result)
            steps_ctx[step_id] = {
                "outputs": result.outputs,
                "outcome": result.outcome,
                "conclusion": result.conclusion,
            }
        outputs: dict[str, str] = {}
        for out_name, spec in (meta.get("outputs") or {}).items():
            outputs[out_name] = self._render(str((spec or {}).get("value", "")), context)
        return ActionRun(
            outputs=outputs,
            steps=results,
            summary="".join(state.summary),
            env_set=dict(state.env_from_file),
            path_added=list(state.path),
            annotations=list(state.annotations),
            log=self.log,
        )

    def _should_run(
        self, condition: Any, context: Mapping[str, Any], funcs: Mapping[str, Any]
    ) -> bool:
        if condition is None:
            return bool(funcs["success"]())
        if isinstance(condition, bool):
            return condition and bool(funcs["success"]())
        text = str(condition).strip()
        if text.startswith("${{") and text.endswith("}}"):
            text = text[3:-2]
        if not re.search(r"\b(success|always|failure|cancelled)\s*\(", text):
            text = f"success() && ({text})"
        return truthy(evaluate(text, context, funcs))

    def _render(self, text: str, context: Mapping[str, Any], status_failed: bool = False) -> str:
        funcs = _functions({"failed": status_failed})
        return _EXPR.sub(lambda m: to_string(evaluate(m.group(1), context, funcs)), text)

    def _render_map(self, data: Any, context: Mapping[str, Any]) -> dict[str, str]:
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            raise ActionError(f"expected a mapping, got {data!r}")
        return {str(k): self._render(_scalar(v), context) for k, v in data.items()}

    def _run_step(
        self,
        step: Mapping[str, Any],
        step_id: str,
        name: str,
        action_dir: Path,
        context: dict[str, Any],
        state: _JobState,
    ) -> StepRun:
        if "uses" in step:
            return self._uses(step, step_id, name, action_dir, context, state)
        if "run" not in step:
            raise ActionError(f"step {name!r} has neither run nor uses")
        shell = step.get("shell")
        if shell is None:
            raise ActionError(f"step {name!r}: composite run steps need shell:")
        template = SHELLS.get(str(shell), str(shell))
        script = self._render(str(step["run"]), context)
        step_env = self._render_map(step.get("env"), context)
        files = {
            key: self.temp / f"_{key.lower()}_{uuid.uuid4().hex}"
            for key in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
        }
        for path in files.values():
            path.write_text("")
        script_file = self.temp / f"{uuid.uuid4().hex}{_EXT.get(str(shell), '')}"
        script_file.write_text(script)
        env = dict(self.base_env)
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_ACTION_PATH": str(action_dir),
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_REPOSITORY": "octo/project",
                "GITHUB_SHA": "0" * 40,
                "GITHUB_REF": "refs/heads/main",
                "GITHUB_EVENT_NAME": "push",
                "RUNNER_TEMP": str(self.temp),
                "RUNNER_TOOL_CACHE": str(self.tool_cache),
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
            }
        )
        env.update(state.env)
        env.update(step_env)
        env.update({k: str(v) for k, v in files.items()})
        if state.path:
            env["PATH"] = os.pathsep.join([*reversed(state.path), env.get("PATH", "")])
        cwd = self.workspace
        if step.get("working-directory"):
            cwd = self.workspace / self._render(str(step["working-directory"]), context)
        argv = [part.replace("{0}", str(script_file)) for part in shlex.split(template)]
        if "{0}" not in template:
            argv.append(str(script_file))
        self.log.append(f"run {name}: {' '.join(argv)} (cwd {cwd})")
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            code: int = proc.returncode
            out, err = proc.stdout, proc.stderr
        except FileNotFoundError as exc:  # a missing shell or working directory
            code, out, err = 127, "", f"{exc}\n"
        self.log.append(f"  exit {code}")
        try:
            outputs = parse_file_command(files["GITHUB_OUTPUT"].read_text(), "GITHUB_OUTPUT")
            new_env = parse_file_command(files["GITHUB_ENV"].read_text(), "GITHUB_ENV")
        except ActionError as exc:
            # The runner fails the step on a malformed file command, after the script ran.
            err += f"##[error]{exc}\n"
            code = code or 1
            outputs, new_env = {}, {}
        state.env.update(new_env)
        state.env_from_file.update(new_env)
        state.path.extend(
            line for line in files["GITHUB_PATH"].read_text().splitlines() if line.strip()
        )
        state.summary.append(files["GITHUB_STEP_SUMMARY"].read_text())
        state.annotations.extend(parse_annotations(out))
        outcome = "success" if code == 0 else "failure"
        return StepRun(step_id, name, outcome, outcome, code, outputs, out, err)

    def _uses(
        self,
        step: Mapping[str, Any],
        step_id: str,
        name: str,
        action_dir: Path,
        context: dict[str, Any],
        state: _JobState,
    ) -> StepRun:
        ref = str(step["uses"])
        with_ = self._render_map(step.get("with"), context)
        if ref.startswith("actions/cache@"):
            # No cache service here: behave as a miss, which is what a first run sees.
            self.log.append(f"{name}: actions/cache miss for key {with_.get('key', '')!r}")
            return StepRun(step_id, name, "success", "success", 0, {"cache-hit": "false"})
        if ref.startswith("./"):
            # Like the runner: ./ is the workspace, not the calling action's folder.
            nested = self._run_action(self.workspace / ref, with_, state)
            outcome = "failure" if nested.failed_step else "success"
            return StepRun(
                step_id,
                name,
                outcome,
                outcome,
                nested.exit_code,
                nested.outputs,
                nested.stdout,
                nested.stderr,
            )
        raise ActionError(f"step {name!r}: uses {ref!r} is not supported by this executor")


@dataclass
class _JobState:
    env: dict[str, str]
    path: list[str]
    summary: list[str]
    annotations: list[Annotation]
    env_from_file: dict[str, str] = field(default_factory=dict)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _truthy_flag(value: Any, context: Mapping[str, Any]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip()
    if text.startswith("${{") and text.endswith("}}"):
        return truthy(evaluate(text[3:-2], context, _functions({"failed": False})))
    return text.lower() == "true"


def _format(fmt: Any, *args: Any) -> str:
    text = to_string(fmt)
    out = re.sub(r"\{(\d+)\}", lambda m: to_string(args[int(m.group(1))]), text)
    return out.replace("{{", "{").replace("}}", "}")


def _functions(status: Mapping[str, bool]) -> dict[str, Callable[..., Any]]:
    return {
        "success": lambda: not status["failed"],
        "failure": lambda: status["failed"],
        "always": lambda: True,
        "cancelled": lambda: False,
        "contains": lambda hay, needle: (
            any(_compare("==", item, needle) for item in hay)
            if isinstance(hay, list)
            else to_string(needle).casefold() in to_string(hay).casefold()
        ),
        "startswith": lambda s, p: to_string(s).casefold().startswith(to_string(p).casefold()),
        "endswith": lambda s, p: to_string(s).casefold().endswith(to_string(p).casefold()),
        "format": _format,
        "tojson": lambda v: json.dumps(v, indent=2),
        "fromjson": lambda v: json.loads(to_string(v)),
    }


def evaluate(
    text: str,
    context: Mapping[str, Any],
    funcs: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """Evaluate one expression (the part between ``${{`` and ``}}``)."""
    return _Parser(text, context, funcs or _functions({"failed": False})).parse()


def load_action(action_dir: Path) -> dict[str, Any]:
    for name in ("action.yml", "action.yaml"):
        path = action_dir / name
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ActionError(f"{path}: not a mapping")
            return data
    raise ActionError(f"{action_dir}: no action.yml")
