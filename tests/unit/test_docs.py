"""Documentation generated from code must match the code."""

from __future__ import annotations

import re

from tests.conftest import REPO


def test_configuration_reference_is_current() -> None:
    from modelci.config_docs import markdown

    current = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert current == markdown(), "regenerate: modelci schema --markdown > docs/configuration.md"


def test_readme_starts_with_the_two_setup_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    assert blocks[0].startswith("python3 -m venv .venv") and "modelci pipeline" in blocks[0]
    assert blocks[1] == "bash .ci/install-and-test"
    ci_run = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1] in ci_run.splitlines()
