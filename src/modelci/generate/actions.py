"""GitHub composite actions made from the step table: one per step, and the root action.

Inputs reach scripts only through ``env:`` (never ``${{ ... }}`` inside ``run:``); the first
step checks each input against the rule its setting's schema gives (``setup.sh``), before
anything is installed, so a bad value names the action input.
"""

from __future__ import annotations

import shlex
from typing import Any

from modelci.inputs import Input, Output
from modelci.step import StepSpec

CACHE = "actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830"
CACHE_VERSION = "v4.3.0"
ICONS = {
    "validate-data": "check-circle",
    "train": "cpu",
    "compare": "bar-chart-2",
    "promote": "arrow-up-circle",
    "scan": "shield",
    "sign": "edit-3",
    "verify": "check-square",
    "sbom": "list",
    "provenance": "git-commit",
}
#: what every action reports besides the step's own outputs
COMMON_OUTPUTS = (
    Output("passed", "'true' when the step's gate passed, else 'false'."),
    Output("report", "Path of the JSON report."),
)
PYTHON = {
    "description": "Python 3.11+ interpreter the virtual environment is built with.",
    "required": False,
    "default": "python3",
}


def _common_inputs() -> dict[str, Any]:
    return {
        "config": {
            "description": "Project file. Empty uses ./modelci.yaml when present.",
            "required": False,
            "default": "",
        },
        "workdir": {
            "description": "Run folder shared by the steps of one run. Empty uses "
            "modelci.yaml (default .modelci).",
            "required": False,
            "default": "",
        },
        "python": PYTHON,
    }


def input_description(item: Input) -> str:
    return " ".join(part for part in (item.help, item.empty_means()) if part)


def rule(item: Input) -> str | None:
    """The setup.sh rule that checks an input, from its setting's schema."""
    kind = item.kind
    if kind == "choice":
        return f"choice:{item.name}={','.join(item.choices)}"
    if kind == "boolean":
        return f"bool:{item.name}"
    if kind == "char":
        return f"char:{item.name}"
    if kind == "integer":
        low, high = item.bounds
        bounds = f"={'' if low is None else int(low)}..{'' if high is None else int(high)}"
        return f"int:{item.name}{bounds if bounds != '=..' else ''}"
    if kind == "number":
        return f"number:{item.name}"
    if kind == "object":
        return f"json:{item.name}"
    return None


def _env(name: str) -> str:
    return "INPUT_" + name.upper().replace("-", "_")


def _setup(rules: list[str], checked: list[str], action_path: str) -> dict[str, Any]:
    env = {_env(name): f"${{{{ inputs.{name} }}}}" for name in checked}
    env["INPUT_PYTHON"] = "${{ inputs.python }}"
    return {
        "id": "setup",
        "name": "Check inputs",
        "shell": "bash",
        "env": env,
        "run": f'bash "$GITHUB_ACTION_PATH/{action_path}_shared/setup.sh" '
        + " ".join(shlex.quote(r) for r in rules),
    }


def _install(action_path: str, extras: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "Restore the modelci environment",
            "uses": CACHE,
            "with": {
                "path": "${{ steps.setup.outputs.cache-dir }}",
                "key": "${{ steps.setup.outputs.cache-key }}",
            },
        },
        {
            "id": "install",
            "name": "Install modelci",
            "shell": "bash",
            "env": {
                "ACTION_PYTHON": "${{ steps.setup.outputs.python }}",
                "ACTION_VERSION": "${{ steps.setup.outputs.version }}",
                "ACTION_CACHE_DIR": "${{ steps.setup.outputs.cache-dir }}",
                "ACTION_EXTRAS": extras,
            },
            "run": f'bash "$GITHUB_ACTION_PATH/{action_path}_shared/install.sh"',
        },
    ]


def step_action(spec: StepSpec) -> dict[str, Any]:
    items = [i for i in spec.inputs if i.ci]
    inputs: dict[str, Any] = {}
    for item in items:
        inputs[item.name] = {
            "description": input_description(item),
            "required": False,
            "default": item.action_default,
        }
    inputs.update(_common_inputs())
    rules = [r for r in (rule(i) for i in items) if r is not None]
    checked = [i.name for i in items if rule(i) is not None]
    outputs = {
        o.name: {"description": o.help, "value": f"${{{{ steps.run.outputs.{o.name} }}}}"}
        for o in (*COMMON_OUTPUTS, *spec.outputs)
    }
    run_env = {"ACTION_MODELCI": "${{ steps.install.outputs.modelci }}", "ACTION_STEP": spec.name}
    for item in items:
        run_env[item.variable] = f"${{{{ inputs.{item.name} }}}}"
    run_env["MODELCI_CONFIG"] = "${{ inputs.config }}"
    run_env["MODELCI_WORKDIR"] = "${{ inputs.workdir }}"
    steps = [
        _setup(rules, checked, "../"),
        *_install("../", "${{ steps.setup.outputs.extras }}"),
        {
            "id": "run",
            "name": f"modelci {spec.name}",
            "shell": "bash",
            "env": run_env,
            "run": '"$ACTION_MODELCI" "$ACTION_STEP"',
        },
    ]
    steps[0]["run"] += " " + shlex.quote(f"extras:{','.join(spec.extras) or 'core'}")
    return {
        "name": f"modelci {spec.name}",
        "description": spec.summary,
        "author": "modelci developers",
        "branding": {"icon": ICONS.get(spec.name, "check-circle"), "color": "green"},
        "inputs": inputs,
        "outputs": outputs,
        "runs": {"using": "composite", "steps": steps},
    }


def root_action(specs: dict[str, StepSpec]) -> dict[str, Any]:
    """Five inputs whatever the number of steps: the step, its arguments, and where the
    project file and run folder are (as cibuildwheel's action does). Settings go in
    modelci.yaml or ``MODELCI_*`` variables on the step."""
    names = list(specs)
    inputs: dict[str, Any] = {
        "step": {"description": f"The modelci step to run: {', '.join(names)}.", "required": True},
        "args": {
            "description": "Arguments of the step, one per line, exactly as on the command "
            "line (e.g. --resamples and 500 on two lines). Never run through a shell.",
            "required": False,
            "default": "",
        },
        **_common_inputs(),
    }
    outputs_docs: dict[str, list[str]] = {}
    for spec in specs.values():
        for output in (*COMMON_OUTPUTS, *spec.outputs):
            outputs_docs.setdefault(output.name, [])
            text = output.help if output in COMMON_OUTPUTS else f"{spec.name}: {output.help}"
            if text not in outputs_docs[output.name]:
                outputs_docs[output.name].append(text)
    outputs = {
        name: {"description": " ".join(texts), "value": f"${{{{ steps.run.outputs.{name} }}}}"}
        for name, texts in outputs_docs.items()
    }
    extras = "/".join(f"{s.name}:{','.join(s.extras) or 'core'}" for s in specs.values())
    setup = _setup(["required:step", "step:step", f"extras-of:step={extras}"], ["step"], "actions/")
    run = {
        "id": "run",
        "name": "modelci",
        "shell": "bash",
        "env": {
            "ACTION_MODELCI": "${{ steps.install.outputs.modelci }}",
            "ACTION_STEP": "${{ inputs.step }}",
            "ACTION_ARGS": "${{ inputs.args }}",
            "MODELCI_CONFIG": "${{ inputs.config }}",
            "MODELCI_WORKDIR": "${{ inputs.workdir }}",
        },
        # one argument per line, never evaluated: a value cannot become code
        "run": 'args=()\nif [[ -n "$ACTION_ARGS" ]]; then mapfile -t args <<< "$ACTION_ARGS"; fi\n'
        '"$ACTION_MODELCI" "$ACTION_STEP" "${args[@]}"\n',
    }
    return {
        "name": "modelci",
        "description": f"Run one modelci step, chosen with `step` ({', '.join(names)}). Each "
        "step is also its own action under actions/<step>.",
        "author": "modelci developers",
        "branding": {"icon": "check-circle", "color": "green"},
        "inputs": inputs,
        "outputs": outputs,
        "runs": {
            "using": "composite",
            "steps": [setup, *_install("actions/", "${{ steps.setup.outputs.extras }}"), run],
        },
    }
