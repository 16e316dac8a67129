"""The one YAML loader of modelci.yaml and contracts: C parser, duplicate keys, alias bombs."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from modelci import yamlutil
from modelci.config import ConfigError, read_file
from modelci.contract import model
from modelci.contract.model import load_contract
from modelci.errors import DataError
from tests.conftest import REPO, CliRunner

LAUGHS = 9


def billion_laughs(prefix: str = "") -> str:
    """Nine levels of nine aliases: 9**9 (387 million) values once expanded."""
    lines = [prefix, 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, LAUGHS):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_the_loader_is_the_c_one_where_pyyaml_has_it() -> None:
    if yaml.__with_libyaml__:
        assert issubclass(yamlutil.UniqueKeyLoader, yaml.CSafeLoader)
    assert issubclass(model._ContractLoader, yamlutil.UniqueKeyLoader)


def test_a_contract_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = yamlutil.UniqueKeyLoader.get_single_node

    def counting(self: yamlutil.UniqueKeyLoader) -> yaml.Node | None:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(yamlutil.UniqueKeyLoader, "get_single_node", counting)
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\ncolumns:\n  a: {dtype: integer}\n  b: {dtype: string}\n")
    load_contract(path)
    assert len(calls) == 1


def test_keys_given_twice_are_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\ncolumns:\n  a: {dtype: integer}\n  a: {dtype: string}\n")
    with pytest.raises(DataError, match=r"c.yaml:4: not valid YAML: key 'a' is given twice"):
        load_contract(path)
    config = tmp_path / "modelci.yaml"
    config.write_text("data:\n  path: a.csv\ndata:\n  path: b.csv\n")
    with pytest.raises(ConfigError, match="key 'data' is given twice"):
        read_file(config)


def test_merge_keys_within_the_bound_still_work(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    columns = "".join(f"  c{i}: {{<<: *num, max: {i + 1}}}\n" for i in range(1, 3_000))
    path.write_text(
        "version: 1\ncolumns:\n  c0: &num {dtype: float, nullable: false, min: 0}\n" + columns
    )
    contract = load_contract(path)
    assert len(contract.columns) == 3_000
    c7 = contract.columns["c7"]
    assert (c7.dtype, c7.nullable, c7.min, c7.max) == ("float", False, 0, 8)


def test_alias_bomb_in_a_contract_is_refused_naming_the_anchor(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs("version: 1\ncolumns: {a: {}}"))
    with pytest.raises(DataError) as caught:
        load_contract(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:10: not valid YAML: aliases expand the document")
    assert "write the values out" in message
    assert len(message) < 300


def test_alias_bomb_in_modelci_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "modelci.yaml"
    path.write_text(billion_laughs())
    with pytest.raises(ConfigError, match="aliases expand the document to more than"):
        read_file(path)


def test_a_self_referring_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\ncolumns: &c {a: *c}\n")
    with pytest.raises(DataError, match="an alias refers to the node that contains it"):
        load_contract(path)


def test_error_messages_never_print_a_large_value_whole(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    lots = ", ".join(f"k{i}: {'x' * 50}" for i in range(2_000))
    path.write_text(f"version: 1\ncolumns:\n  a: {{allowed: {{{lots}}}}}\n")
    with pytest.raises(DataError) as caught:
        load_contract(path)
    message = str(caught.value)
    assert "columns.a.allowed: expected a list, got a mapping" in message
    assert len(message) < 400


def _limited_memory() -> None:
    # 1.5 GiB of address space: expanding the bomb (or printing it) would need far more
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))


@pytest.mark.parametrize("command", [["contract", "check", "bomb.yaml"], ["config", "check"]])
def test_alias_bombs_exit_2_in_a_process_with_little_memory(
    command: list[str], in_tmp: Path, run_cli: CliRunner
) -> None:
    (in_tmp / "bomb.yaml").write_text(billion_laughs("version: 1\ncolumns: {a: {}}"))
    (in_tmp / "modelci.yaml").write_text(billion_laughs())
    done = subprocess.run(
        [sys.executable, "-m", "modelci", *command],
        cwd=in_tmp,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited_memory,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "aliases expand the document" in done.stderr
    assert done.stderr.strip().count("\n") == 0
