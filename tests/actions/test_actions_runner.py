"""The composite-action executor itself behaves like the GitHub runner where we rely on it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.actions.ghrunner import (
    ActionError,
    Runner,
    evaluate,
    parse_annotations,
    parse_file_command,
    to_string,
)

CONTEXT = {
    "inputs": {"fmt": "CSV", "empty": "", "n": "3"},
    "steps": {"a": {"outputs": {"x": "1"}, "outcome": "success"}},
    "env": {"HOME": "/root"},
    "github": {"action_path": "/a"},
    "runner": {"temp": "/t"},
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("inputs.fmt == 'csv'", True),  # strings compare case-insensitively
        ("inputs.fmt != 'csv'", False),
        ("inputs['fmt']", "CSV"),
        ("steps.a.outputs.x == 1", True),  # mismatched types compare as numbers
        ("steps.a.outputs.missing", None),
        ("inputs.empty || 'default'", "default"),
        ("inputs.fmt && 'yes'", "yes"),
        ("inputs.empty && 'yes'", ""),
        ("!inputs.empty", True),
        ("!(inputs.n == '3') || false", False),
        ("'it''s'", "it's"),
        ("null", None),
        ("1 < 2 && 2 >= 2", True),
        ("contains('abc', 'B')", True),
        ("startsWith(github.action_path, '/')", True),
        ("format('{0}-{1}', runner.temp, 2)", "/t-2"),
        ("success() && always() && !failure()", True),
        ("env.HOME", "/root"),
    ],
)
def test_expressions(expr: str, expected: object) -> None:
    assert evaluate(expr, CONTEXT) == expected


@pytest.mark.parametrize("expr", ["inputs.fmt ==", "secrets.TOKEN", "nosuchfn()", "a ? b"])
def test_bad_expressions_are_refused(expr: str) -> None:
    with pytest.raises(ActionError):
        evaluate(expr, CONTEXT)


def test_to_string_renders_like_the_runner() -> None:
    assert [to_string(v) for v in (None, True, False, 3.0, 0.5, "s")] == [
        "",
        "true",
        "false",
        "3",
        "0.5",
        "s",
    ]


def test_file_commands_plain_and_heredoc() -> None:
    text = "a=1\nb<<EOF\nline 1\nFOO=bar\nEOF\nc=x=y\n"
    assert parse_file_command(text, "GITHUB_OUTPUT") == {
        "a": "1",
        "b": "line 1\nFOO=bar",
        "c": "x=y",
    }
    with pytest.raises(ActionError, match="delimiter 'EOF' not found"):
        parse_file_command("b<<EOF\nno end\n", "GITHUB_OUTPUT")
    with pytest.raises(ActionError, match="invalid format"):
        parse_file_command("just text\n", "GITHUB_ENV")


def test_annotations_are_unescaped() -> None:
    [note] = parse_annotations("log\n::error file=a.csv,line=3,title=x%3A y::bad%0Avalue\n")
    assert note.level == "error"
    assert note.properties == {"file": "a.csv", "line": "3", "title": "x: y"}
    assert note.message == "bad\nvalue"


ACTION = """\
name: t
description: t
inputs:
  who: {description: w, default: world}
  flag: {description: f}
outputs:
  greeting: {description: g, value: "${{ steps.hello.outputs.greeting }}"}
  seen-env: {description: e, value: "${{ steps.later.outputs.seen }}"}
runs:
  using: composite
  steps:
    - id: hello
      shell: bash
      env: {WHO: "${{ inputs.who }}"}
      run: |
        echo "greeting=hello $WHO" >> "$GITHUB_OUTPUT"
        echo "SHARED=from-env-file" >> "$GITHUB_ENV"
        mkdir -p "$RUNNER_TEMP/bin" && printf '#!/bin/sh\\necho tool\\n' > "$RUNNER_TEMP/bin/tool"
        chmod +x "$RUNNER_TEMP/bin/tool" && echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
        echo "# Summary" >> "$GITHUB_STEP_SUMMARY"
    - id: later
      shell: bash
      working-directory: sub
      run: |
        echo "seen=$SHARED $(tool) $(basename "$PWD") flag=[${{ inputs.flag }}]" >> "$GITHUB_OUTPUT"
    - uses: actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830
      with: {path: x, key: "k-${{ inputs.who }}"}
    - id: boom
      if: inputs.who == 'fail'
      shell: bash
      run: exit 7
    - id: skipped
      shell: bash
      run: echo never
    - id: cleanup
      if: failure()
      shell: bash
      run: echo "cleaned=yes" >> "$GITHUB_OUTPUT"
"""


@pytest.fixture
def action(tmp_path: Path) -> tuple[Runner, Path]:
    folder = tmp_path / "action"
    folder.mkdir()
    (folder / "action.yml").write_text(ACTION)
    (tmp_path / "ws" / "sub").mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    return Runner(tmp_path / "ws", tmp_path / "tmp", tmp_path / "cache", env), folder


def test_outputs_env_path_summary_and_working_directory(action: tuple[Runner, Path]) -> None:
    runner, folder = action
    run = runner.run(folder, {"flag": "on"})

    assert run.conclusion == "success"
    assert run.outputs == {
        "greeting": "hello world",
        "seen-env": "from-env-file tool sub flag=[on]",
    }
    assert run.env_set == {"SHARED": "from-env-file"}
    assert run.summary == "# Summary\n"
    assert any("actions/cache miss for key 'k-world'" in line for line in runner.log)
    outcomes = {s.id: s.outcome for s in run.steps}
    assert outcomes["boom"] == "skipped" and outcomes["cleanup"] == "skipped"
    assert outcomes["skipped"] == "success"


def test_failure_skips_later_steps_but_runs_failure_handlers(
    action: tuple[Runner, Path],
) -> None:
    runner, folder = action
    run = runner.run(folder, {"who": "fail", "unknown": "x"})

    assert run.exit_code == 7 and run.failed_step is not None and run.failed_step.id == "boom"
    outcomes = {s.id: s.outcome for s in run.steps}
    assert outcomes["skipped"] == "skipped"
    assert outcomes["cleanup"] == "success"
    assert any("Unexpected input(s) unknown" in line for line in runner.log)


def test_bash_runs_with_errexit_and_pipefail(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "action.yml").write_text(
        textwrap.dedent(
            """\
            name: t
            description: t
            runs:
              using: composite
              steps:
                - id: s
                  shell: bash
                  run: |
                    false | true
                    echo "reached=yes" >> "$GITHUB_OUTPUT"
            """
        )
    )
    (tmp_path / "ws").mkdir()
    (tmp_path / "tmp").mkdir()
    runner = Runner(tmp_path / "ws", tmp_path / "tmp", tmp_path / "c", {"PATH": "/usr/bin:/bin"})

    run = runner.run(folder)

    assert run.exit_code == 1
    assert run.steps[0].outputs == {}
