"""GitHub Actions: step outputs, job summary (Markdown) and ``::error`` annotations."""

from __future__ import annotations

import secrets
from pathlib import Path

from modelci.ci.base import MAX_ANNOTATIONS, Adapter
from modelci.results import StepResult, format_value


class GitHubAdapter(Adapter):
    name = "github"

    def publish(self, result: StepResult) -> None:
        self.log(result)
        self.annotate(result)
        outputs = {"passed": "true" if result.passed else "false", **result.outputs}
        if path := self.env.get("GITHUB_OUTPUT"):
            write_outputs(Path(path), outputs)
        if path := self.env.get("GITHUB_STEP_SUMMARY"):
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"## modelci {result.step}\n\n{result.summary}\n\n{result.markdown}\n")

    def warn(self, text: str) -> None:
        print(command("warning", text, {"title": "modelci"}), file=self.stream)

    def annotate(self, result: StepResult) -> None:
        failed = [c for c in result.checks if not c.passed]
        for check in failed[:MAX_ANNOTATIONS]:
            level = "error" if check.severity == "error" else "warning"
            props = {"title": f"modelci {result.step}: {check.name}"}
            if check.file:
                props["file"] = check.file
                if check.line:
                    props["line"] = str(check.line)
            text = (
                f"{check.message or check.rule}: observed {format_value(check.observed)}, "
                f"expected {format_value(check.expected)}"
            )
            print(command(level, text, props), file=self.stream)
        if len(failed) > MAX_ANNOTATIONS:
            rest = len(failed) - MAX_ANNOTATIONS
            print(
                command("error", f"{rest} more failed checks: see the job summary", {}),
                file=self.stream,
            )


def command(name: str, message: str, props: dict[str, str]) -> str:
    """A workflow command with GitHub's escaping, so data values cannot forge commands."""
    rendered = ",".join(f"{k}={_escape_property(v)}" for k, v in props.items())
    return f"::{name}{' ' + rendered if rendered else ''}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def write_outputs(path: Path, outputs: dict[str, str]) -> None:
    """Append outputs in the ``name<<DELIM`` form: a value with newlines cannot add outputs."""
    with open(path, "a", encoding="utf-8") as handle:
        for key, value in outputs.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            handle.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
