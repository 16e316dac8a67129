"""The model's runtime from its requirement files: every line resolves to one version, or
the file and line are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelci.errors import ConfigError, InputError
from modelci.sbom import (
    Considerations,
    Dataset,
    DatasetRole,
    Hash,
    considerations_from_config,
    parse_requirements,
    read_runtime,
)
from modelci.sbom.licenses import installed

H1 = "a" * 64
H2 = "b" * 64


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_mlflow_style_files(tmp_path: Path) -> None:
    _write(tmp_path, "requirements.txt", "mlflow==3.17.2\nscikit-learn==1.9.1\nskops==0.16.0")
    _write(
        tmp_path,
        "python_env.yaml",
        "python: 3.11.7\nbuild_dependencies:\n- pip==24.0\n- wheel\ndependencies:\n"
        "- -r requirements.txt\n",
    )
    runtime = read_runtime(tmp_path)
    assert runtime.python_version == "3.11.7"
    assert [(r.name, r.version) for r in runtime.requirements] == [
        ("mlflow", "3.17.2"),
        ("scikit-learn", "1.9.1"),
        ("skops", "0.16.0"),
    ]
    assert runtime.requirements[1].source == "requirements.txt:2"
    assert runtime.files == ("python_env.yaml", "requirements.txt")
    assert all(r.license is None for r in runtime.requirements)  # no lookup asked


def test_comments_extras_markers_hashes_and_continuations(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "requirements.txt",
        "# pinned by the team\n"
        "\n"
        "Scikit_Learn[alldeps]==1.9.1  # inline comment\n"
        "numpy==2.0.0 ; python_version >= '3.9' \\\n"
        "    --hash=sha256:" + H1 + " \\\n"
        "    --hash=sha256:" + H2 + "\n"
        "oldlib==0.1 ; python_version < '3'\n"
        "--index-url https://user:secret@example.org/simple\n"
        "pkg===1.0-local\n",
    )
    requirements = {r.name: r for r in parse_requirements(path)}
    assert set(requirements) == {"scikit-learn", "numpy", "pkg"}  # marker false: left out
    assert requirements["numpy"].hashes == (Hash("sha256", H1), Hash("sha256", H2))
    assert requirements["numpy"].source == "requirements.txt:4"
    assert requirements["pkg"].version == "1.0-local"
    assert requirements["scikit-learn"].purl == "pkg:pypi/scikit-learn@1.9.1"


def test_constraints_pin_what_requirements_leave_open(tmp_path: Path) -> None:
    _write(tmp_path, "constraints.txt", "numpy==2.0.0\n")
    path = _write(tmp_path, "requirements.txt", "-c constraints.txt\nnumpy>=1.26\n")
    (numpy,) = parse_requirements(path)
    assert (numpy.name, numpy.version) == ("numpy", "2.0.0")


def test_same_pin_twice_merges_and_two_pins_conflict(tmp_path: Path) -> None:
    _write(tmp_path, "more.txt", "numpy==2.0.0 --hash=sha256:" + H1 + "\n")
    path = _write(tmp_path, "requirements.txt", "numpy==2.0.0\n-r more.txt\n")
    (numpy,) = parse_requirements(path)
    assert numpy.hashes == (Hash("sha256", H1),)
    _write(tmp_path, "other.txt", "numpy==1.26.4\n")
    path = _write(tmp_path, "requirements.txt", "numpy==2.0.0\n-r other.txt\n")
    with pytest.raises(InputError, match=r"other\.txt:1: numpy is pinned to 1\.26\.4 here"):
        parse_requirements(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("numpy", r"requirements\.txt:2: numpy is not pinned to one version \(no version\)"),
        ("numpy>=1.26", r"requirements\.txt:2: numpy is not pinned to one version \(>=1\.26\)"),
        ("numpy==2.*", r"requirements\.txt:2: numpy is not pinned"),
        ("numpy==2.0,<1.0", r"requirements\.txt:2: numpy is not pinned"),
        (
            "pkg @ https://user:canary-secret@example.org/pkg-1.0.whl",
            r"requirements\.txt:2: pkg comes from a URL or path",
        ),
        ("-e ./src", r"requirements\.txt:2: an editable install has no released version"),
        ("git+https://example.org/pkg.git", r"requirements\.txt:2: not a requirement pip"),
        ("numpy==2.0 --hash=md5:abc", r"requirements\.txt:2: --hash must be sha256"),
        ("-r ../../outside.txt", r"requirements\.txt:2: includes a file outside the model"),
        ("-r missing.txt", r"missing\.txt: requirements file not found"),
    ],
)
def test_unresolvable_lines_name_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    _write(tmp_path, "requirements.txt", f"scikit-learn==1.9.1\n{line}\n")
    with pytest.raises(InputError, match=message) as caught:
        read_runtime(tmp_path)
    assert "canary-secret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_python_env_dependency_entries_are_named_by_index(tmp_path: Path) -> None:
    _write(tmp_path, "python_env.yaml", "python: 3.11.7\ndependencies:\n- numpy==2.0\n- pandas\n")
    with pytest.raises(InputError, match=r"python_env\.yaml: dependencies\[1\]: pandas is not"):
        read_runtime(tmp_path)


def test_no_requirement_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no requirements\.txt or python_env\.yaml"):
        read_runtime(tmp_path)


def test_unreadable_python_env_is_an_input_error(tmp_path: Path) -> None:
    _write(tmp_path, "python_env.yaml", "python: [3.11\n")
    with pytest.raises(InputError, match=r"python_env\.yaml: not readable as YAML"):
        read_runtime(tmp_path)


def test_license_lookup_needs_the_same_installed_version(tmp_path: Path) -> None:
    import sklearn

    assert installed("scikit-learn", sklearn.__version__) == "BSD-3-Clause"
    assert installed("scikit-learn", "0.0.1") is None
    assert installed("no-such-distribution-here", "1.0") is None
    _write(tmp_path, "requirements.txt", f"scikit-learn=={sklearn.__version__}\n")
    (requirement,) = read_runtime(tmp_path, license_of=installed).requirements
    assert requirement.license == "BSD-3-Clause"


# --- considerations and dataset inputs --------------------------------------------------


def test_considerations_from_config() -> None:
    considerations = considerations_from_config(
        {
            "users": ["analysts"],
            "use_cases": "ranking",
            "ethical": [{"risk": "proxy bias", "mitigation": "review"}],
            "fairness": [{"group": "over 65", "harms": "more false negatives"}],
        }
    )
    assert considerations.users == ("analysts",)
    assert considerations.use_cases == ("ranking",)
    assert considerations.ethical[0].mitigation == "review"
    assert considerations.fairness[0].benefits is None
    assert considerations
    assert not considerations_from_config(None)
    assert considerations_from_config({}) == Considerations()


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"user": ["x"]}, "sbom.considerations: unknown key 'user'"),
        ({"users": [""]}, "sbom.considerations.users"),
        ({"ethical": [{"mitigation": "x"}]}, r"sbom.considerations.ethical\[0\].risk"),
        ({"fairness": [{"group": "g", "harm": "x"}]}, r"sbom.considerations.fairness\[0\]"),
        ({"fairness": "everyone"}, "sbom.considerations.fairness"),
    ],
)
def test_bad_considerations_name_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        considerations_from_config(raw)


def test_considerations_schema_accepts_what_the_parser_accepts() -> None:
    import jsonschema

    from modelci.sbom.considerations import schema

    SCHEMA = schema()

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    good = {"users": ["a"], "ethical": [{"risk": "r"}], "fairness": [{"group": "g"}]}
    jsonschema.validate(good, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"user": ["a"]}, SCHEMA)


def test_dataset_digest_must_be_sha256() -> None:
    with pytest.raises(InputError, match=r"training dataset data\.csv: 'md5:abc' is not a sha256"):
        Dataset(DatasetRole.TRAINING, "data.csv", "md5:abc")
    presigned = Dataset(
        DatasetRole.EVALUATION, "https://h/x/eval.parquet?sig=secret", "sha256:" + H1
    )
    assert presigned.label == "eval.parquet"
