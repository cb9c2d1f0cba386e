"""`rollout --record DIR` and `rollout recording replay DIR` against the release lab's emulator.

A few commands recorded keep none of the keys and tokens they used; the checked-in recordings
(tests/recordings/, the first made by scripts/record_sample.sh) replay with no difference;
a recording whose answers were altered is reported, exit status 1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from labs import Lab
from rollout.azureml.azure_monitor import AzureMonitorMetrics
from rollout.azureml.cloud import CloudEndpoints
from rollout.azureml.recording import recorder
from rollout.azureml.recording.exchanges import read_recording
from rollout.azureml.recording.recorder import RECORD_ENV
from rollout.azureml.recording.scrubber import SCRUBBED
from rollout.emulator.constants import SUBSCRIPTION_ID
from rollout.emulator.host.management_token import read_management_token

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = sorted(path for path in (REPO / "tests" / "recordings").iterdir() if path.is_dir())
SAMPLE = REPO / "tests" / "recordings" / "emulator-release"
ENDPOINT = "recorded-keys"


def test_a_recorded_run_keeps_no_key_or_token(lab: Lab, tmp_path: Path) -> None:
    recording = tmp_path / "recording"
    spec = tmp_path / "endpoint.yml"
    spec.write_text(f"name: {ENDPOINT}\nauth_mode: key\n")

    def run(*args: str) -> int:
        # ROLLOUT_RECORD given to the runner is put back after each command (--record sets it)
        return lab.in_process("--record", str(recording), *args, env={"ROLLOUT_RECORD": ""}).returncode

    assert run("endpoint", "create", "-f", str(spec)) == 0
    keys = lab.connection().ml.online_endpoints.get_keys(ENDPOINT)
    assert run("endpoint", "get-credentials", "-n", ENDPOINT) == 0
    monitor_snapshot(lab, recording)
    run("endpoint", "invoke", "-n", ENDPOINT, "--request-file", str(REPO / "samples" / "sample.json"))
    assert run("endpoint", "delete", "-n", ENDPOINT, "--yes") == 0

    written = "".join(path.read_text() for path in recording.glob("*.jsonl"))
    for secret in (
        keys.primary_key,
        keys.secondary_key,
        read_management_token(lab.state_dir),
        SUBSCRIPTION_ID,
    ):
        assert secret not in written
    exchanges = read_recording(recording)
    listed = [e for e in exchanges if e.path.endswith(f"/onlineEndpoints/{ENDPOINT}/listKeys")]
    scored = [e for e in exchanges if e.client == "scoring"]
    assert listed and all(e.response.body["primaryKey"] == SCRUBBED for e in listed)
    assert scored and scored[0].request.headers["authorization"] == SCRUBBED
    assert [e.method for e in exchanges][-2:] == ["DELETE", "GET"]  # the delete and its operation's poll
    assert any(
        e.path.endswith("/providers/Microsoft.Insights/metrics") and e.status == 200 for e in exchanges
    )


def monitor_snapshot(lab: Lab, recording: Path) -> None:
    """Azure Monitor's client (the Azure target's metrics source), recording, on the emulator's
    metrics route."""
    target = lab.target()
    resource = lab.connection().ml.online_endpoints.get(ENDPOINT).id
    cloud = CloudEndpoints("emulator", target.url().rstrip("/"), target.url())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(RECORD_ENV, str(recording))
        options = {"connection_verify": target.ca_file(), **recorder.azure_options()}
        source = AzureMonitorMetrics(resource, target.credential(), cloud, **options)
        source.snapshot(ENDPOINT)


@pytest.mark.parametrize("recording", RECORDINGS, ids=[path.name for path in RECORDINGS])
def test_the_checked_in_recordings_replay_with_no_difference(lab: Lab, recording: Path) -> None:
    replayed = lab.in_process("recording", "replay", str(recording))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    *lines, summary = replayed.stdout.splitlines()
    assert summary == f"{len(read_recording(recording))} recorded exchanges, 0 with differences"
    answered = re.compile(r": same \(\d{3}\)$|: a poll before the operation's final state: skipped$")
    assert lines and all(answered.search(line) for line in lines), replayed.stdout


def test_altered_answers_are_reported(lab: Lab, tmp_path: Path) -> None:
    altered = tmp_path / "altered"
    altered.mkdir()
    first = sorted(SAMPLE.glob("*.jsonl"))[0]
    lines = [
        json.loads(line) for line in first.read_text().splitlines()[:2]
    ]  # endpoint GET (404), workspace GET
    assert (lines[0]["status"], lines[1]["path"].rsplit("/", 2)[-2]) == (404, "workspaces")
    lines[0]["status"] = 200
    del lines[1]["response"]["body"]["properties"]["hbiWorkspace"]
    lines[1]["response"]["body"]["properties"]["friendlyName"] = 5
    (altered / first.name).write_text("".join(json.dumps(line) + "\n" for line in lines))

    replayed = lab.in_process("recording", "replay", str(altered))
    assert replayed.returncode == 1
    assert "    status: recorded 200, emulator 404" in replayed.stdout
    assert "    body $.properties.hbiWorkspace: recorded no such key, emulator boolean" in replayed.stdout
    assert "    body $.properties.friendlyName: recorded number, emulator string" in replayed.stdout
    assert replayed.stdout.rstrip().endswith("2 recorded exchanges, 2 with differences")
