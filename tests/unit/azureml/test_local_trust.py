"""The local target's trust for azure-ai-ml's blob uploads: the emulator's CA added to the bundle in
force, never replacing it."""

from __future__ import annotations

import os
from pathlib import Path

import certifi

from rollout.azureml.local_target import trust_for_uploads

CA = "-----BEGIN CERTIFICATE-----\nZW11bGF0b3I=\n-----END CERTIFICATE-----\n"


def test_the_emulator_ca_is_added_to_certifis_bundle(tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    (tmp_path / "ca.pem").write_text(CA)
    trust_for_uploads(str(tmp_path / "ca.pem"))
    bundle = Path(os.environ["REQUESTS_CA_BUNDLE"])
    assert bundle.name.startswith("rollout-ca-bundle-") and bundle.stat().st_mode & 0o077 == 0
    text = bundle.read_text()
    assert text.startswith(Path(certifi.where()).read_text().rstrip())
    assert text.endswith(CA)
    trust_for_uploads(str(tmp_path / "ca.pem"))  # already trusted: nothing changes
    assert os.environ["REQUESTS_CA_BUNDLE"] == str(bundle) and bundle.read_text() == text


def test_a_bundle_the_user_set_is_kept(tmp_path, monkeypatch):
    own = tmp_path / "corporate.pem"
    own.write_text("-----BEGIN CERTIFICATE-----\nY29ycA==\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(own))
    (tmp_path / "ca.pem").write_text(CA)
    trust_for_uploads(str(tmp_path / "ca.pem"))
    assert Path(os.environ["REQUESTS_CA_BUNDLE"]).read_text() == own.read_text() + CA
    assert own.read_text().count("BEGIN") == 1
