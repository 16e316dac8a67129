"""GitLab CI templates made from the step table, one per step, with ``spec: inputs``.

Inputs reach the job only as ``variables:`` with ``expand: false``: a value is never
interpolated into the script, and ``$VAR`` in a value stays literal. GitLab checks ``options``
and ``regex`` before the pipeline starts, so a bad value names the template input. The
install script is one file (``install.sh`` beside this module), written into every template.
"""

from __future__ import annotations

import textwrap
from importlib import resources
from typing import Any

from modelci import __version__
from modelci.generate.actions import input_description
from modelci.inputs import Input
from modelci.step import StepSpec

#: where the templates (and modelci itself) are published: a job installs modelci from here,
#: at the release tag of the template's version unless ``modelci-source`` says otherwise
REPOSITORY = "https://github.com/modelci/modelci"
#: the stage each step's job runs in by default (GitLab's default stages)
STAGES = {"promote": "deploy", "verify": "deploy"}
#: the modelci jobs each job waits for when they are in the pipeline, oldest first: every
#: job's artifact is the whole run folder so far, so the newest one present is the state
PREVIOUS = {
    "train": ("validate-data",),
    "compare": ("train",),
    "scan": ("train", "compare"),
    "sign": ("train", "compare", "scan"),
    "sbom": ("train", "compare", "scan", "sign"),
    "provenance": ("train", "compare", "scan", "sign", "sbom"),
    "verify": ("sign", "sbom", "provenance"),
    "promote": ("compare", "scan", "sign", "sbom", "provenance", "verify"),
}
INTEGER = r"^-?[0-9]*$"
NUMBER = r"^(-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)?$"
CHAR = r"^.?$"


def default_source() -> str:
    """modelci from its repository at the tag of this version: the templates of a release
    install the same release (nothing is published to a package index)."""
    return f"git+{REPOSITORY}@v{__version__}"


def install_script() -> str:
    return resources.files("modelci.generate").joinpath("install.sh").read_text("utf-8")


def template_input(item: Input) -> dict[str, Any]:
    node: dict[str, Any] = {"description": input_description(item), "default": ""}
    kind = item.kind
    if kind == "choice":
        node["options"] = ["", *item.choices]
    elif kind == "boolean":
        node["options"] = ["", "true", "false"]
    elif kind == "integer":
        node["regex"] = INTEGER
    elif kind == "number":
        node["regex"] = NUMBER
    elif kind == "char":
        node["regex"] = CHAR
    return node


def header(spec: StepSpec) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "job-prefix": {
            "description": "Prefix of the job's name, so one pipeline can include the "
            "template twice (two models): the job is <prefix>modelci-" + spec.name + ".",
            "default": "",
            "regex": r"^[A-Za-z0-9_.-]*$",
        },
        "stage": {
            "description": "Stage the job runs in.",
            "default": STAGES.get(spec.name, "test"),
        },
        "image": {
            "description": "Image the job runs in: Python 3.11 or newer, with git when modelci "
            "is installed from its repository (the default modelci-source); an image with "
            "modelci-version installed skips the install.",
            "default": "python:3.11",
        },
        "modelci-version": {
            "description": "modelci version to use; an installed modelci of this version is "
            "reused.",
            "default": __version__,
            "regex": r"^[0-9]+\.[0-9]+\.[0-9]+([.+-]?[A-Za-z0-9.]+)?$",
        },
        "modelci-source": {
            "description": "Where pip installs modelci from when no modelci of modelci-version "
            "is on PATH, with the step's extras: a URL pip takes (default: this repository at "
            "the release tag; pin the commit you include the templates from, "
            f"git+{REPOSITORY}@<commit SHA>), a wheel, a source folder, or a requirement "
            "(modelci[data]==X.Y.Z from your package index).",
            "default": default_source(),
        },
    }
    for item in spec.inputs:
        if item.ci and item.env is None:
            inputs[item.name] = template_input(item)
    inputs["config"] = {
        "description": "Project file. Empty uses ./modelci.yaml when present.",
        "default": "",
    }
    inputs["workdir"] = {
        "description": "Run folder, relative to the project; it is the job's artifact and "
        "holds the JUnit, dotenv and metrics reports.",
        "default": ".modelci",
        "regex": r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$",
    }
    return {"spec": {"inputs": inputs}}


def _variable(value: str) -> dict[str, Any]:
    return {"value": value, "expand": False}


def job(spec: StepSpec) -> dict[str, Any]:
    variables: dict[str, Any] = {
        # The job's reports are GitLab's: say so even where GITLAB_CI is not "true".
        "MODELCI_CI": "gitlab",
        "MODELCI_VERSION": _variable("$[[ inputs.modelci-version ]]"),
        "MODELCI_PIP_SPEC": _variable("$[[ inputs.modelci-source ]]"),
        "MODELCI_EXTRAS": ",".join(spec.extras) or "core",
        "PIP_CACHE_DIR": "$CI_PROJECT_DIR/.cache/pip",
    }
    for item in spec.inputs:
        if item.ci and item.env is None:
            variables[item.variable] = _variable(f"$[[ inputs.{item.name} ]]")
    variables["MODELCI_CONFIG"] = _variable("$[[ inputs.config ]]")
    variables["MODELCI_WORKDIR"] = _variable("$[[ inputs.workdir ]]")
    workdir = "$[[ inputs.workdir ]]"
    body: dict[str, Any] = {
        "stage": "$[[ inputs.stage ]]",
        "image": "$[[ inputs.image ]]",
    }
    if spec.name in PREVIOUS:
        body["needs"] = [
            {"job": f"$[[ inputs.job-prefix ]]modelci-{previous}", "optional": True}
            for previous in PREVIOUS[spec.name]
        ]
    body.update(
        {
            "variables": variables,
            "cache": {"key": "modelci-pip", "paths": [".cache/pip"]},
            "script": [install_script(), f"modelci {spec.name}"],
            "artifacts": {
                "when": "always",
                "paths": [f"{workdir}/"],
                "reports": {
                    "junit": f"{workdir}/{spec.name}/junit.xml",
                    "dotenv": f"{workdir}/{spec.name}/outputs.env",
                    "metrics": f"{workdir}/{spec.name}/metrics.txt",
                },
            },
        }
    )
    return {f"$[[ inputs.job-prefix ]]modelci-{spec.name}": body}


def comment(spec: StepSpec) -> str:
    first = next((i for i in spec.inputs if i.ci and i.env is None), None)
    example = f"\n#         {first.name}: ..." if first else ""
    raw = REPOSITORY.replace("https://github.com/", "https://raw.githubusercontent.com/")
    lines = [
        f"# modelci {spec.name}: {spec.summary}",
        "#",
        "#   include:",
        f"#     - remote: {raw}/<commit SHA>/gitlab-templates/{spec.name}.yml",
        "#       inputs:",
        f"#         modelci-source: git+{REPOSITORY}@<commit SHA>   # the same commit" + example,
        "#",
        "# Inputs reach the job only as `variables:` with `expand: false`: a value is never",
        "# interpolated into the script, and `$VAR` in a value stays literal. Empty inputs mean",
        '# "not given": modelci.yaml or the default applies.',
    ]
    if spec.name in PREVIOUS:
        before = PREVIOUS[spec.name]
        jobs = ", ".join(f"<prefix>modelci-{name}" for name in before)
        text = (
            f"The job needs {jobs} (each optional) and gets the run folder of the last one "
            "present. When none is in the pipeline, GitLab starts this job at once, without "
            "waiting for earlier stages; if jobs of your own must finish first, extend its needs:"
        )
        lines += [
            "#",
            *textwrap.wrap(text, width=92, initial_indent="# ", subsequent_indent="# "),
            f"#   modelci-{spec.name}:",
            "#     needs:",
            "#       - your-job",
            *(f"#       - {{job: modelci-{name}, optional: true}}" for name in before),
        ]
    return "\n".join(lines) + "\n"
