"""The recorder's files: an exchange a line, read back in order; one salt for every process of a
recording; bodies kept as JSON, text, or by their size."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.azureml.recording.exchanges import Message, RecordingError, read_recording
from rollout.azureml.recording.recorder import SALT_FILE, Recorder, message
from rollout.azureml.recording.scrubber import SCRUBBED

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_exchanges_are_written_scrubbed_and_read_back_in_order(tmp_path: Path) -> None:
    first, second = Recorder(tmp_path), Recorder(tmp_path)  # as two processes of one recording
    url = f"https://management.azure.com/subscriptions/{GUID}/x?api-version=1"
    second.record(
        "arm", "get", url, 200, (Message({"Authorization": "Bearer abcdefghijklmnopqrst"}), Message())
    )
    first.record("scoring", "post", "https://e.inference.ml.azure.com/score", 200, (Message(), Message()))
    exchanges = read_recording(tmp_path)
    assert [(e.client, e.method, e.status) for e in exchanges] == [
        ("arm", "GET", 200),
        ("scoring", "POST", 200),
    ]
    assert exchanges[0].query == "api-version=1" and GUID not in exchanges[0].path
    assert exchanges[0].request.headers == {"Authorization": SCRUBBED}
    # both processes placed the same id at the same placeholder: one salt, written once
    first.record("arm", "GET", url, 200, (Message(), Message()))
    assert read_recording(tmp_path)[-1].path == exchanges[0].path
    assert (tmp_path / SALT_FILE).stat().st_mode & 0o077 == 0


def test_bodies_as_json_text_or_size() -> None:
    assert message({"content-type": "application/json"}, lambda: b'{"a": 1}').body == {"a": 1}
    assert message({}, lambda: "plain words").text == "plain words"
    binary = message({"content-type": "application/octet-stream", "content-length": "3"}, lambda: b"\0\1\2")
    assert binary.text == "<3 bytes of application/octet-stream>" and binary.body is None
    assert message({"Content-Length": str(2 << 20)}, lambda: b"").text == f"<{2 << 20} bytes, not recorded>"


def test_a_directory_without_exchanges_is_a_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="holds no recorded exchange"):
        read_recording(tmp_path)
    (tmp_path / "x.jsonl").write_text('{"seq": 1}\n')
    with pytest.raises(RecordingError, match=r"x.jsonl:1: not a recorded exchange"):
        read_recording(tmp_path)
