"""Which environment values are credentials: scrubbed from every output and file."""

from __future__ import annotations

from pathlib import Path

from modelci.secrets import env_secrets

PEM = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB...\n-----END ENCRYPTED PRIVATE KEY-----\n"


def test_a_key_setting_naming_a_file_is_no_secret_but_its_password_is(tmp_path: Path) -> None:
    # the path is what an error about the key must name; the secret is in the file
    key = tmp_path / "signing.pem"
    key.write_text(PEM)
    found = env_secrets(
        {"MODELCI_SIGN__PRIVATE_KEY": str(key), "MODELCI_SIGNING_KEY_PASSWORD": "hunter2-pw"}
    )
    assert found == {"hunter2-pw"}


def test_key_text_pasted_into_the_setting_stays_secret(tmp_path: Path) -> None:
    found = env_secrets(
        {
            "MODELCI_SIGN__PRIVATE_KEY": PEM,
            "MODELCI_PROVENANCE__PRIVATE_KEY": str(tmp_path / "missing.pem"),
            "DEPLOY_PRIVATE_KEY": str(Path(__file__)),  # not ours: its name decides
        }
    )
    assert found == {PEM, str(tmp_path / "missing.pem"), str(Path(__file__))}


def test_a_password_naming_a_file_stays_secret(tmp_path: Path) -> None:
    (tmp_path / "pw-file").write_text("x")
    found = env_secrets({"MODELCI_SIGNING_KEY_PASSWORD": str(tmp_path / "pw-file")})
    assert found == {str(tmp_path / "pw-file")}
