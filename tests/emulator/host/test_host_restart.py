"""`rollout emulator start/status/stop` and restart persistence, on an emulator of its own.

Stopping the emulator stops every instance; starting it again on the same state directory restores
endpoints, deployments, traffic, mirror traffic, tags, keys and tokens on the same port (so scoring
URIs do not change), and starts the instances again: `start` returns once they are ready, so
scoring answers at once.
"""

from __future__ import annotations

import json
import ssl
import stat
import time
from pathlib import Path

import httpx
import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, ProbeSettings

from labs import Lab, Result
from rollout.azureml.local_target import LocalTarget
from rollout.release.roles import TAG_CANDIDATE, TAG_LIVE, TAG_MODEL, TAG_STAGE, TAG_VERDICT

# What a release in progress keeps on its endpoint (a canary stage passed).
RELEASE_TAGS = {
    TAG_LIVE: "blue",
    TAG_CANDIDATE: "green",
    TAG_MODEL: "heart-classifier:2",
    TAG_STAGE: "canary",
    TAG_VERDICT: "canary: pass",
}


def _rollout(*args: str, home: Path) -> Result:
    """`rollout ARGS` with ROLLOUT_HOME=home, run in this process (the command's own code)."""
    return Lab(home).in_process(*args)


def _status(home: Path) -> tuple[int, dict]:
    result = _rollout("emulator", "status", "--json", home=home)
    return result.returncode, json.loads(result.stdout)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _score(
    status: dict, endpoint: str, credential: str, body: dict, deployment: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {credential}"}
    if deployment:
        headers["azureml-model-deployment"] = deployment
    return httpx.post(
        f"{status['url']}/online-endpoints/{endpoint}/score",
        json=body,
        headers=headers,
        verify=ssl.create_default_context(cafile=status["ca_file"]),
        timeout=30,
    )


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    yield home
    _rollout("emulator", "stop", home=home)


def test_cli_lifecycle_and_restart_persistence(home, emulator_registry, registered_models, sample_request):
    code, body = _status(home)
    assert code == 1 and body["running"] is False
    assert "not running" in _rollout("emulator", "status", home=home).stdout

    started = _rollout("emulator", "start", "--registry-uri", emulator_registry.uri, home=home)
    assert started.returncode == 0, started.stderr
    code, first = _status(home)
    assert code == 0 and first["running"] is True
    state_dir = home.resolve() / "emulator"
    assert (first["state_dir"], first["registry_uri"]) == (str(state_dir), emulator_registry.uri)
    assert first["url"] == f"https://127.0.0.1:{first['port']}"
    assert f"The emulator is running at {first['url']}" in started.stdout
    assert f"CA file:   {first['ca_file']}" in started.stdout
    again = _rollout("emulator", "start", home=home)
    assert again.returncode == 0
    assert f"already running at {first['url']} (pid {first['pid']})" in again.stdout

    ml = LocalTarget(state_dir).ml_client()
    ml.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="persist", auth_mode="key")
    ).result()
    ml.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="persist-token", auth_mode="aml_token")
    ).result()
    probe = ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=30)
    for name, version in (("blue", 1), ("green", 2)):
        ml.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name=name,
                endpoint_name="persist",
                model=f"azureml:{registered_models.heart}:{version}",
                instance_type="Standard_DS3_v2",
                instance_count=1,
                readiness_probe=probe,
            )
        ).result()
    endpoint = ml.online_endpoints.get("persist")
    endpoint.traffic, endpoint.mirror_traffic = {"blue": 100}, {"green": 20}
    endpoint.tags = {**RELEASE_TAGS, "team.note": "someone"}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    scoring_uri = ml.online_endpoints.get("persist").scoring_uri
    assert scoring_uri == f"{first['url']}/online-endpoints/persist/score"
    ml.online_endpoints.begin_regenerate_keys("persist", key_type="secondary").result()
    keys = ml.online_endpoints.get_keys("persist")
    token = ml.online_endpoints.get_keys("persist-token").access_token
    assert _score(first, "persist", keys.primary_key, sample_request).status_code == 200

    # Modes: the state directory is private, and so is every file holding a secret.
    assert _mode(state_dir) == 0o700
    for private in ("state.db", "arm-token", "emulator.json", "tls/server-key.pem"):
        assert _mode(state_dir / private) == 0o600, private
    assert not (state_dir / "tls" / "ca-key.pem").exists()  # the CA's key signed one certificate
    assert _mode(state_dir / "logs") == 0o700
    # Keys and tokens never reach a log.
    logs = [state_dir / "emulator.log", *sorted((state_dir / "logs").rglob("*.log"))]
    text = "\n".join(path.read_text(errors="replace") for path in logs)
    for secret in (keys.primary_key, keys.secondary_key, token):
        assert secret not in text

    stopped = _rollout("emulator", "stop", home=home)
    assert stopped.returncode == 0
    assert f"Stopped the emulator at {first['url']} (pid {first['pid']})" in stopped.stdout
    assert _status(home)[0] == 1
    deadline = time.monotonic() + 5
    while _group_members(first["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_members(first["pid"]) == []  # no instance or fork server outlives it
    assert "not running" in _rollout("emulator", "stop", home=home).stdout

    restarted = _rollout("emulator", "start", home=home)
    assert restarted.returncode == 0, restarted.stderr
    code, second = _status(home)
    assert code == 0 and second["pid"] != first["pid"]
    assert second["registry_uri"] == emulator_registry.uri  # the registry it served last
    assert (second["port"], second["url"]) == (first["port"], first["url"])  # the port it served on last

    ml = LocalTarget(state_dir).ml_client()
    endpoint = ml.online_endpoints.get("persist")
    assert (endpoint.traffic, endpoint.mirror_traffic) == ({"blue": 100}, {"green": 20})
    assert endpoint.tags == {**RELEASE_TAGS, "team.note": "someone"}
    assert endpoint.scoring_uri == scoring_uri
    restored_keys = ml.online_endpoints.get_keys("persist")
    assert (restored_keys.primary_key, restored_keys.secondary_key) == (keys.primary_key, keys.secondary_key)
    assert {d.name: d.provisioning_state for d in ml.online_deployments.list("persist")} == {
        "blue": "Succeeded",
        "green": "Succeeded",
    }
    assert ml.online_endpoints.get("persist-token").auth_mode == "aml_token"
    # `start` returned once the restored deployments were ready: they serve at once, live traffic too.
    for deployment in ("blue", "green", None):
        response = _score(second, "persist", keys.primary_key, sample_request, deployment)
        assert response.status_code == 200, response.text
    assert "restored 2 deployments: blue ready, green ready" in restarted.stderr
    health = httpx.get(
        f"{second['url']}/healthz", verify=ssl.create_default_context(cafile=second["ca_file"])
    ).json()
    assert health["status"] == "ok"
    assert [(d["deployment"], d["state"]) for d in health["restored"]] == [
        ("blue", "ready"),
        ("green", "ready"),
    ]
    assert _score(second, "persist-token", token, sample_request).status_code != 401
    assert "Emulator restarted; starting instances again." in ml.online_deployments.get_logs(
        "blue", "persist", lines=200, container_type="storage-initializer"
    )
