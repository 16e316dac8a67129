from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from modelci import config
from modelci.errors import ConfigError
from tests.conftest import CliRunner


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_validate_against_the_schema() -> None:
    jsonschema.validate(config.defaults(), config.schema())


def test_step_sections_are_merged_into_schema_and_defaults() -> None:
    assert "registry" in config.schema()["properties"]
    assert config.defaults()["registry"]["alias"] == "champion"


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    f = write(tmp_path / "modelci.yaml", "data:\n  path: from-file.csv\n  target: y\n")
    cfg = config.load(f, env={})
    assert cfg.get("data.path") == "from-file.csv"
    assert cfg.get("data.format") == "auto"  # default survives a partial section
    assert cfg.source("data.path") == str(f)

    cfg = config.load(f, env={"MODELCI_DATA__PATH": "from-env.csv"})
    assert cfg.get("data.path") == "from-env.csv"
    assert cfg.source("data.path") == "MODELCI_DATA__PATH"
    assert cfg.get("data.target") == "y"

    cfg = config.load(
        f, env={"MODELCI_DATA__PATH": "from-env.csv"}, overrides={"data.path@DATA": "flag.csv"}
    )
    assert cfg.get("data.path") == "flag.csv"
    assert cfg.source("data.path") == "DATA"


def test_flag_none_means_not_given(tmp_path: Path) -> None:
    f = write(tmp_path / "m.yaml", "contract: c.yaml\n")
    assert (
        config.load(f, env={}, overrides={"contract@--contract": None}).get("contract") == "c.yaml"
    )


def test_paths_from_the_file_are_relative_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    f = write(tmp_path / "proj" / "modelci.yaml", "contract: c.yaml\n")
    cfg = config.load(f, env={"MODELCI_DATA__PATH": "d.csv"})
    assert cfg.path("contract") == (tmp_path / "proj").resolve() / "c.yaml"
    assert cfg.path("data.path") == Path("d.csv")  # env values are relative to the cwd


def test_env_values_are_typed_by_the_schema() -> None:
    cfg = config.load(
        None,
        env={
            "MODELCI_VALIDATE__DRIFT__SHARE": "0.25",
            "MODELCI_VALIDATE__DRIFT__FAIL": "false",
            "MODELCI_DATA__TARGET": "123",  # a string key keeps what the user typed
            "MODELCI_VALIDATE__DRIFT__NUMERIC": "{ks: 0.01}",
        },
        search=False,
    )
    assert cfg.get("validate.drift.share") == 0.25
    assert cfg.get("validate.drift.fail") is False
    assert cfg.get("data.target") == "123"
    # a method map replaces the default map instead of merging into it
    assert cfg.get("validate.drift.numeric") == {"ks": 0.01}


def test_empty_env_value_counts_as_unset() -> None:
    cfg = config.load(None, env={"MODELCI_WORKDIR": ""}, search=False)
    assert cfg.get("workdir") == ".modelci"


def test_unrelated_prefixed_variable_is_ignored_but_nested_typo_is_refused() -> None:
    config.load(None, env={"MODELCI_SOMETHING_ELSE": "x"}, search=False)
    with pytest.raises(ConfigError, match=r"MODELCI_DATA__PAHT: no setting 'data.paht'"):
        config.load(None, env={"MODELCI_DATA__PAHT": "x"}, search=False)


@pytest.mark.parametrize(
    ("name", "nearest"),
    [
        ("MODELCI_WORKDIRR", "MODELCI_WORKDIR (setting 'workdir')"),
        ("MODELCI_CONTRCT", "MODELCI_CONTRACT (setting 'contract')"),
        ("MODELCI_REGISTY", "MODELCI_REGISTRY (setting 'registry')"),
        ("MODELCI_CONFG", "MODELCI_CONFIG (a modelci variable)"),
    ],
)
def test_misspelt_top_level_variable_is_a_warning_naming_the_nearest(
    name: str, nearest: str
) -> None:
    cfg = config.load(None, env={name: "x"}, search=False)
    assert cfg.warnings == [
        f"{name} is not a modelci variable and is ignored; did you mean {nearest}?"
    ]
    assert cfg.get("workdir") == ".modelci"  # ignored, not applied


def test_variables_of_our_own_and_of_the_user_are_not_warned_about() -> None:
    from modelci.ci.gitlab import GitLabAdapter
    from modelci.results import StepResult
    from modelci.steps import STEPS

    env = {"MODELCI_SOMETHING_ELSE": "x", "MODELCI_TEAM": "ml", "MODELCI_WORKDIR": "w"}
    # every step's outputs reach later GitLab jobs as MODELCI_<STEP>_<OUTPUT> variables
    for spec in STEPS.values():
        result = StepResult(spec.name, True, "", outputs={o.name: "v" for o in spec.outputs})
        dotenv = GitLabAdapter({}).files(result)["outputs.env"]
        assert isinstance(dotenv, str)
        env.update(line.split("=", 1) for line in dotenv.splitlines())  # type: ignore[misc]
    assert config.load(None, env=env, search=False).warnings == []


def test_misspelt_variable_warns_on_the_command_line(run_cli: CliRunner, in_tmp: Path) -> None:
    res = run_cli("config", "show", env={"MODELCI_WORKDIRR": "elsewhere"})
    assert res.code == 0, res.err
    assert res.err == (
        "modelci: warning: MODELCI_WORKDIRR is not a modelci variable and is ignored; "
        "did you mean MODELCI_WORKDIR (setting 'workdir')?\n"
    )
    assert "workdir: .modelci" in res.out


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^MODELCI_DATA__FORMAT: 'xlsx' is not one of"):
        config.load(None, env={"MODELCI_DATA__FORMAT": "xlsx"}, search=False)


def test_bad_flag_value_names_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"^--format: "):
        config.load(None, env={}, overrides={"data.format@--format": "xlsx"}, search=False)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("data:\n  pth: x\n", r"m.yaml: data: unknown key 'pth'; allowed: csv, format, path"),
        ("data:\n  format: xlsx\n", r"m.yaml: data.format: 'xlsx' is not one of"),
        ("validate:\n  drift:\n    share: 2\n", r"m.yaml: validate.drift.share: 2 is greater"),
        (
            "validate:\n  drift:\n    columns:\n      age: {psi: -1}\n",
            r"validate.drift.columns.age",
        ),
        ("version: 2\n", r"m.yaml: version: "),
        ("- a\n- b\n", r"m.yaml: must be a mapping"),
        ("data: [\n", r"m.yaml:2: .*fix the YAML syntax"),
        ("data:\n  path: 3\n", r"m.yaml: data.path: expected string or null, got int 3"),
    ],
)
def test_bad_file_names_file_and_key(tmp_path: Path, text: str, pattern: str) -> None:
    f = write(tmp_path / "m.yaml", text)
    with pytest.raises(ConfigError, match=pattern):
        config.load(f, env={})


def test_non_utf8_file(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_bytes(b"data:\n  path: caf\xe9.csv\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        config.check(f)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "nope.yaml", env={})


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    f = write(tmp_path / "m.yaml", "")
    assert config.load(f, env={}).get("validate.drift.bins") == "sturges"


def test_env_name() -> None:
    assert config.env_name("validate.drift.share") == "MODELCI_VALIDATE__DRIFT__SHARE"


def test_modelci_config_variable_selects_the_file(tmp_path: Path) -> None:
    f = write(tmp_path / "other.yaml", "data:\n  target: label\n")
    assert config.load(None, env={"MODELCI_CONFIG": str(f)}).get("data.target") == "label"
