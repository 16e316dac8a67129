"""actions/scan, sign, verify, sbom, provenance and their GitLab templates, run for real.

What a consumer sees: a previous job trained the quickstart (its run folder ``.modelci/`` is
in the workspace) and these jobs scan, sign, verify, describe and attest the model. Training
happens once per module; every job works on its own copy. The signing key is encrypted with a
canary password that reaches the steps only as ``MODELCI_SIGNING_KEY_PASSWORD`` (as a
workflow maps a secret, or a GitLab CI/CD variable) and must appear nowhere a run leaves
text. Action runs and pipelines are shared by the tests that check them (module fixtures), so
the file costs one release job, two GitLab pipelines and a few short runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.actions.ghrunner import ActionRun, Runner
from tests.actions.gitlabci import PipelineRun, make_project, make_project_with, run_pipeline
from tests.actions.harness import REPO, clean_env

pytestmark = [
    pytest.mark.actions,
    pytest.mark.slow,
    pytest.mark.usefixtures("clean_env"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning"),
]

#: the key's password: a canary that must never show up in output, logs or files
PASSWORD = "canary-7f3c1e-Pa55word"
PASSWORD_VARIABLE = "MODELCI_SIGNING_KEY_PASSWORD"
SARIF_SCHEMA = REPO / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json"
MODEL = Path(".modelci") / "train" / "model"
#: the file of the trained quickstart model that the tamper case changes
WEIGHTS = "model.skops"
TEMPLATES = REPO / "gitlab-templates"


def _modelci(folder: Path, modelci_bin: Path, *args: str) -> None:
    """Run modelci in ``folder`` the way a job before this one would have."""
    done = subprocess.run(
        [str(modelci_bin / "modelci"), *args], cwd=folder, env=clean_env(), capture_output=True,
        text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@dataclass(frozen=True)
class Keys:
    private: Path  # PEM, encrypted with PASSWORD
    public: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """An EC P-256 key pair made by openssl, the private key encrypted with the canary."""
    folder = tmp_path_factory.mktemp("keys")
    private, public = folder / "signing.pem", folder / "signing.pub"
    for argv in (
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-aes-256-cbc", "-pass", "env:CANARY", "-out", str(private)],
        ["openssl", "pkey", "-in", str(private), "-passin", "env:CANARY", "-pubout",
         "-out", str(public)],
    ):  # fmt: skip
        subprocess.run(argv, env={**clean_env(), "CANARY": PASSWORD}, check=True, timeout=60)
    assert b"ENCRYPTED PRIVATE KEY" in private.read_bytes()
    return Keys(private, public)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, modelci_bin: Path) -> Path:
    """The quickstart after `modelci train`: the project a train job leaves behind."""
    folder = tmp_path_factory.mktemp("trained") / "project"
    shutil.copytree(REPO / "examples" / "quickstart", folder)
    _modelci(folder, modelci_bin, "train", "--cv-folds", "0")
    assert (folder / MODEL / WEIGHTS).is_file()
    return folder


def _job(base: Path, tool_cache: Path, trained: Path | None = None) -> Runner:
    """A fresh GitHub job: its workspace (a copy of the trained project) and runner temp."""
    workspace, temp = base / "workspace", base / "runner-temp"
    if trained is not None:
        shutil.copytree(trained, workspace)
    workspace.mkdir(exist_ok=True)
    temp.mkdir()
    return Runner(workspace, temp, tool_cache, clean_env())


def _files(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                yield path


def _assert_no_password(texts: Mapping[str, str], *folders: Path) -> None:
    for where, text in texts.items():
        assert PASSWORD not in text, f"the key's password is in {where}"
    leaked = [p for p in _files(*folders) if PASSWORD.encode() in p.read_bytes()]
    assert not leaked, f"the key's password is in {leaked}"


def _run_texts(name: str, run: ActionRun) -> dict[str, str]:
    return {
        f"{name} outputs": json.dumps(run.outputs),
        f"{name} summary": run.summary,
        f"{name} stdout": run.stdout,
        f"{name} stderr": run.stderr,
        f"{name} annotations": json.dumps([vars(a) for a in run.annotations]),
        f"{name} runner log": "\n".join(run.log),
    }


def _errors(run: ActionRun) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("modelci: error:")]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _valid_sarif(path: Path) -> dict[str, Any]:
    import jsonschema

    log: dict[str, Any] = json.loads(path.read_text("utf-8"))
    validator = jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text("utf-8")))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(log)]
    assert not errors, "\n".join(errors[:10])
    assert log["version"] == "2.1.0"
    return log


def _valid_cyclonedx(path: Path) -> dict[str, Any]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = path.read_text("utf-8")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document: dict[str, Any] = json.loads(text)
    return document


# ---------------------------------------------------------------- GitHub: one release job


@dataclass(frozen=True)
class ReleaseJob:
    """One workflow job after train: the steps in order, then a deploy-time verify of a
    changed model. ``runs`` by step label, in the order they ran."""

    workspace: Path
    temp: Path
    runs: dict[str, ActionRun]


@pytest.fixture(scope="module")
def release(
    tmp_path_factory: pytest.TempPathFactory,
    tool_cache: Path,
    action_checkout: Path,
    trained: Path,
    keys: Keys,
) -> ReleaseJob:
    runner = _job(tmp_path_factory.mktemp("release"), tool_cache, trained)
    ws = runner.workspace
    # as a workflow writes a secret key to a file: outside the workspace
    key = shutil.copy2(keys.private, runner.temp / "signing.pem")
    # the public key is committed with the project
    (ws / "keys").mkdir()
    shutil.copy2(keys.public, ws / "keys" / "signing.pub")
    secret = {PASSWORD_VARIABLE: PASSWORD}
    actions = action_checkout / "actions"
    runs: dict[str, ActionRun] = {}

    def step(
        label: str, action: str, inputs: dict[str, str], env: Mapping[str, str] | None = None
    ) -> ActionRun:
        runs[label] = runner.run(actions / action, inputs, env)
        return runs[label]

    step("scan", "scan", {})
    step("sign without password", "sign", {"private-key": str(key)})
    step("sign", "sign", {"private-key": str(key)}, secret)
    step("verify", "verify", {"public-key": "keys/signing.pub"})
    step("sbom", "sbom", {})
    provenance = step("provenance", "provenance", {"private-key": str(key)}, secret)
    step(
        "verify provenance",
        "verify",
        {"public-key": "keys/signing.pub", "provenance": provenance.outputs.get("provenance", "")},
    )
    weights = ws / MODEL / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    step("verify changed", "verify", {"public-key": "keys/signing.pub"})
    return ReleaseJob(ws, runner.temp, runs)


def _passed(run: ActionRun) -> None:
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outputs["passed"] == "true"


def test_scan_action_passes_the_trained_model(release: ReleaseJob) -> None:
    run = release.runs["scan"]

    _passed(run)
    assert run.outputs["errors"] == "0"
    files = sorted(p for p in (release.workspace / MODEL).rglob("*") if p.is_file())
    assert run.outputs["files"] == str(len(files)) and len(files) > 1
    log = _valid_sarif(release.workspace / ".modelci" / "scan" / "results.sarif")
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["name"] == "modelci-scan"
    assert "## modelci scan" in run.summary and "no unsafe content" in run.summary
    assert run.annotations == []


def test_scan_action_sarif_output_names_the_report(release: ReleaseJob) -> None:
    sarif = release.runs["scan"].outputs["sarif"]

    assert sarif == str(Path(".modelci") / "scan" / "results.sarif")
    _valid_sarif(release.workspace / sarif)


def test_sign_action_signs_with_a_key_whose_password_comes_only_from_env(
    release: ReleaseJob, trained: Path
) -> None:
    # without the secret mapped to the variable, the encrypted key is refused: exit 2, saying
    # where the password goes (so the run below really used the variable)
    refused = release.runs["sign without password"]
    assert refused.exit_code == 2
    [error] = _errors(refused)
    assert "signing.pem" in error and PASSWORD_VARIABLE in error

    run = release.runs["sign"]
    _passed(run)
    for name in ("signature", "statement", "digest", "identity"):
        assert run.outputs[name], f"output {name} is empty"
    assert run.outputs["signature"] == str(Path(".modelci") / "sign" / "model.sig")
    bundle = json.loads((release.workspace / run.outputs["signature"]).read_text())
    assert bundle["mediaType"].startswith("application/vnd.dev.sigstore.bundle")
    assert (release.workspace / run.outputs["statement"]).is_file()
    assert run.outputs["digest"].startswith("sha256:")
    assert run.outputs["identity"].startswith("sha256:")  # the key's fingerprint
    assert "## modelci sign" in run.summary and run.outputs["identity"] in run.summary

    texts: dict[str, str] = {}
    for label, each in release.runs.items():
        texts.update(_run_texts(label, each))
    _assert_no_password(texts, release.workspace, release.temp, trained)


def test_verify_action_passes_then_names_the_changed_file(release: ReleaseJob) -> None:
    signed, run = release.runs["sign"], release.runs["verify"]

    _passed(run)
    assert run.outputs["identity"] == signed.outputs["identity"]
    assert run.outputs["digest"] == signed.outputs["digest"]
    assert "## modelci verify" in run.summary

    changed = release.runs["verify changed"]
    assert changed.exit_code == 1, changed.stdout + changed.stderr
    assert changed.failed_step is not None and changed.failed_step.id == "run"
    [error] = _errors(changed)
    assert f"changed {WEIGHTS}" in error


def test_sbom_action_writes_a_valid_cyclonedx_document(release: ReleaseJob) -> None:
    run = release.runs["sbom"]

    _passed(run)
    path = release.workspace / run.outputs["sbom"]
    assert run.outputs["sbom"] == str(Path(".modelci") / "sbom" / "model.cdx.json")
    assert run.outputs["digest"] == f"sha256:{_sha256(path)}"
    assert run.outputs["format"] == "cyclonedx-json"
    document = _valid_cyclonedx(path)
    parts = document["metadata"]["component"]["components"]
    files = {part["name"]: part["hashes"][0]["content"] for part in parts}
    model = release.workspace / MODEL
    # the hashes are of the model as signed (the tamper case changed it afterwards)
    assert set(files) == {p.name for p in model.iterdir() if p.is_file()}
    assert files["MLmodel"] == _sha256(model / "MLmodel")
    # sign ran before: the signature bundle is referenced with its digest
    refs = [
        ref
        for component in [document["metadata"]["component"], *document.get("components", [])]
        for ref in component.get("externalReferences", [])
    ]
    signature = release.workspace / release.runs["sign"].outputs["signature"]
    assert any(
        ref["url"] == "sign/model.sig" and ref["hashes"][0]["content"] == _sha256(signature)
        for ref in refs
    ), refs


def test_provenance_action_signs_and_verify_checks_it(release: ReleaseJob) -> None:
    run = release.runs["provenance"]

    _passed(run)
    assert run.outputs["provenance"] == str(
        Path(".modelci") / "provenance" / "provenance.sigstore.json"
    )
    bundle = json.loads((release.workspace / run.outputs["provenance"]).read_text())
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"] for s in statement["subject"]}
    assert subjects == {p.name for p in (release.workspace / MODEL).iterdir() if p.is_file()}
    statement_file = release.workspace / run.outputs["statement"]
    assert run.outputs["digest"] == f"sha256:{_sha256(statement_file)}"

    verified = release.runs["verify provenance"]
    _passed(verified)
    report = json.loads((release.workspace / verified.outputs["report"]).read_text())
    rules = {check["rule"]: check["passed"] for check in report["checks"]}
    assert rules.get("provenance verified") is True, rules


# ---------------------------------------------------------------- GitHub: failing jobs


class _Payload:
    """Unpickling this runs a shell command: the scan must find it without loading it."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


@dataclass(frozen=True)
class MaliciousScan:
    run: ActionRun
    workspace: Path
    sentinel: Path


@pytest.fixture(scope="module")
def malicious_scan(
    tmp_path_factory: pytest.TempPathFactory, tool_cache: Path, action_checkout: Path
) -> MaliciousScan:
    base = tmp_path_factory.mktemp("malicious")
    runner = _job(base, tool_cache)
    sentinel = base / "SENTINEL"
    (runner.workspace / "models").mkdir()
    payload = pickle.dumps(_Payload(f"touch {sentinel}"), protocol=2)
    (runner.workspace / "models" / "weights.pkl").write_bytes(payload)
    run = runner.run(action_checkout / "actions" / "scan", {"path": "models/weights.pkl"})
    return MaliciousScan(run, runner.workspace, sentinel)


def test_scan_action_blocks_a_malicious_pickle_without_loading_it(
    malicious_scan: MaliciousScan,
) -> None:
    run = malicious_scan.run

    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.failed_step is not None and run.failed_step.id == "run"
    assert run.outputs["passed"] == "false"
    assert run.outputs["errors"] == "1" and run.outputs["files"] == "1"
    [annotation] = run.annotations
    assert annotation.level == "error"
    assert "weights.pkl" in annotation.message and "system" in annotation.message
    assert "weights.pkl" in annotation.properties["title"]
    log = _valid_sarif(malicious_scan.workspace / ".modelci" / "scan" / "results.sarif")
    [result] = log["runs"][0]["results"]
    assert result["ruleId"] == "unsafe-global" and result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert location == "models/weights.pkl"
    assert not malicious_scan.sentinel.exists(), "the scan ran the pickle"


def test_scan_annotation_points_at_the_file_in_the_repository(
    malicious_scan: MaliciousScan,
) -> None:
    [annotation] = malicious_scan.run.annotations

    assert annotation.properties["file"] == "models/weights.pkl"


def test_sign_action_keyless_without_oidc_permission(
    tmp_path: Path, tool_cache: Path, action_checkout: Path, trained: Path
) -> None:
    runner = _job(tmp_path, tool_cache, trained)
    # a GitHub job without `permissions: id-token: write`: no ACTIONS_ID_TOKEN_REQUEST_* vars
    assert not any(k.startswith("ACTIONS_ID_TOKEN") for k in runner.base_env)

    run = runner.run(action_checkout / "actions" / "sign", {"method": "keyless"})

    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.failed_step is not None and run.failed_step.id == "run"
    [error] = _errors(run)
    assert "permissions: id-token: write" in error
    assert "Traceback" not in run.stderr
    assert not (runner.workspace / ".modelci" / "sign" / "model.sig").exists()


# ---------------------------------------------------------------- GitLab


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    found = {str(p.relative_to(folder)): p.stat() for p in _files(folder)}
    return {name: (stat.st_size, stat.st_mtime_ns) for name, stat in found.items()}


@dataclass(frozen=True)
class Pipeline:
    run: PipelineRun
    #: the folder where the train job ran, before and after the pipeline
    trained_before: dict[str, tuple[int, int]]
    trained_after: dict[str, tuple[int, int]]


CHAIN = ("scan", "sign", "sbom", "provenance", "verify")


@pytest.fixture(scope="module")
def chain(
    tmp_path_factory: pytest.TempPathFactory, modelci_bin: Path, trained: Path, keys: Keys
) -> Pipeline:
    """One pipeline including the five templates; the key is a file of the project, its
    password a CI/CD variable."""
    folder = tmp_path_factory.mktemp("chain") / "project"
    shutil.copytree(trained, folder)
    (folder / "keys").mkdir()
    shutil.copy2(keys.private, folder / "keys" / "signing.pem")
    shutil.copy2(keys.public, folder / "keys" / "signing.pub")
    key = {"private-key": "keys/signing.pem"}
    inputs: dict[str, dict[str, str]] = {
        "scan": {},
        "sign": key,
        "sbom": {},
        "provenance": key,
        "verify": {"public-key": "keys/signing.pub"},
    }
    project = make_project_with(folder, [(TEMPLATES / f"{s}.yml", inputs[s]) for s in CHAIN])
    before = _snapshot(trained)
    run = run_pipeline(project, [modelci_bin], variables={PASSWORD_VARIABLE: PASSWORD}, timeout=600)
    return Pipeline(run, before, _snapshot(trained))


def _event(run: PipelineRun, job: str, event: str) -> int:
    found = re.search(rf"^{re.escape(job)}\s+{event}", run.output, re.M)
    assert found, f"no '{job} {event}' in the pipeline output"
    return found.start()


def test_gitlab_templates_chain_scan_sign_verify_sbom_provenance(
    chain: Pipeline, trained: Path
) -> None:
    run = chain.run
    for step in CHAIN:
        assert run.passed(f"modelci-{step}"), run.output
    # sign needs scan; verify (stage deploy) needs sign
    assert _event(run, "modelci-scan", "finished") < _event(run, "modelci-sign", "starting")
    assert _event(run, "modelci-sign", "finished") < _event(run, "modelci-verify", "starting")
    for step in CHAIN:
        out = run.artifacts(f"modelci-{step}") / ".modelci" / step
        assert 'failures="0"' in (out / "junit.xml").read_text(), step
        dotenv = (out / "outputs.env").read_text().splitlines()
        assert f"MODELCI_{step.upper()}_PASSED=true" in dotenv, (step, dotenv)
        assert (out / "metrics.txt").is_file(), step
    assert "could not be found" not in run.output

    _valid_sarif(run.artifacts("modelci-scan") / ".modelci" / "scan" / "results.sarif")
    signature = run.artifacts("modelci-sign") / ".modelci" / "sign" / "model.sig"
    assert json.loads(signature.read_text())["mediaType"].startswith(
        "application/vnd.dev.sigstore.bundle"
    )
    sbom = run.artifacts("modelci-sbom") / ".modelci" / "sbom" / "model.cdx.json"
    _valid_cyclonedx(sbom)
    sbom_env = (sbom.parent / "outputs.env").read_text().splitlines()
    assert f"MODELCI_SBOM_DIGEST=sha256:{_sha256(sbom)}" in sbom_env
    bundle = run.artifacts("modelci-provenance") / ".modelci" / "provenance"
    assert "dsseEnvelope" in json.loads((bundle / "provenance.sigstore.json").read_text())
    # verify got sign's run folder and checked the run facts too
    verified = run.artifacts("modelci-verify") / ".modelci" / "verify" / "report.json"
    rules = {c["rule"] for c in json.loads(verified.read_text())["checks"]}
    assert {"model matches its signature", "run facts verified"} <= rules

    texts = {"pipeline output": run.output}
    texts.update({f"{s} job log": run.job_log(f"modelci-{s}") for s in CHAIN})
    home = run.project.parent / f"{run.project.name}-gcl-home"
    _assert_no_password(texts, run.project, home, trained)


def test_gitlab_sbom_and_provenance_run_after_sign(chain: Pipeline) -> None:
    run = chain.run
    signed = _event(run, "modelci-sign", "finished")

    assert _event(run, "modelci-sbom", "starting") > signed
    assert _event(run, "modelci-provenance", "starting") > signed
    sbom = run.artifacts("modelci-sbom") / ".modelci" / "sbom" / "model.cdx.json"
    assert '"url": "sign/model.sig"' in sbom.read_text()


def test_gitlab_jobs_write_only_inside_their_project(chain: Pipeline) -> None:
    assert chain.run.passed("modelci-sign"), chain.run.output

    added = sorted(set(chain.trained_after) - set(chain.trained_before))
    assert added == []


def test_gitlab_scan_dotenv_names_the_sarif(chain: Pipeline) -> None:
    out = chain.run.artifacts("modelci-scan") / ".modelci" / "scan"

    assert "MODELCI_SCAN_SARIF=.modelci/scan/results.sarif" in (out / "outputs.env").read_text()


@pytest.fixture(scope="module")
def keyless(
    tmp_path_factory: pytest.TempPathFactory, modelci_bin: Path, trained: Path
) -> PipelineRun:
    folder = tmp_path_factory.mktemp("keyless") / "project"
    shutil.copytree(trained, folder)
    project = make_project(folder, TEMPLATES / "sign.yml", {"method": "keyless"})
    return run_pipeline(project, [modelci_bin])


def test_sign_template_keyless_without_id_tokens_says_what_to_paste(keyless: PipelineRun) -> None:
    from modelci.signing.token import GITLAB_ID_TOKENS_INLINE

    job = "modelci-sign"
    assert keyless.failed(job), keyless.output
    assert keyless.exit_code(job) == 2
    errors = [line for line in keyless.job_log(job).splitlines() if "modelci: error:" in line]
    assert len(errors) == 1, keyless.job_log(job)
    assert f"`{GITLAB_ID_TOKENS_INLINE}`" in errors[0]
    assert "Traceback" not in keyless.job_log(job)
    assert not (keyless.artifacts(job) / ".modelci" / "sign" / "model.sig").exists()


def test_sign_template_keyless_message_names_the_job(keyless: PipelineRun) -> None:
    log = keyless.job_log("modelci-sign")

    assert "to modelci-sign in your project's .gitlab-ci.yml" in log
