"""`rollout emulator stop` signals only its own emulator; `start` keeps the state directory's port.

A record (`emulator.json`) left by an emulator that died without a stop may name a pid the system
has since given to another process: stop must leave that process alone, say the record was stale
and clear it. A restart serves on the port of the last run when it is free, else on a free port.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from labs import Lab, Result
from rollout.emulator.host import process


def _rollout(*args: str, home: Path) -> Result:
    """`rollout ARGS` with ROLLOUT_HOME=home, run in this process (the command's own code)."""
    return Lab(home).in_process(*args)


@pytest.fixture
def unrelated():
    """A process that is not an emulator (its pid is what a stale record names)."""
    sleeper = subprocess.Popen(["sleep", "60"])
    yield sleeper
    sleeper.kill()
    sleeper.wait(timeout=10)


@pytest.mark.parametrize("recorded_start", ["another start time", "no start time (an older record)"])
def test_stop_leaves_a_process_alone_that_a_stale_record_names(tmp_path, unrelated, recorded_start):
    home = tmp_path / "home"
    state_dir = home / "emulator"
    state_dir.mkdir(parents=True)
    started_at = process._started_at(unrelated.pid)
    assert started_at is not None
    port = process.free_port()  # nothing answers there
    record = {
        "pid": unrelated.pid,
        "url": f"https://127.0.0.1:{port}",
        "port": port,
        "ca_file": str(state_dir / "tls" / "ca.pem"),
        "state_dir": str(state_dir),
        "registry_uri": "sqlite:///kept.db",
        "started_at": started_at - 100 if recorded_start == "another start time" else None,
    }
    (state_dir / "emulator.json").write_text(json.dumps(record))

    stopped = _rollout("emulator", "stop", home=home)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == (
        f"The emulator is not running: its record named pid {unrelated.pid}, which is now another "
        "process (a stale record); left it alone and cleared the record."
    )
    assert unrelated.poll() is None  # still running: not signalled
    cleared = json.loads((state_dir / "emulator.json").read_text())
    assert cleared == {**record, "pid": None, "started_at": None, "running": False}
    again = _rollout("emulator", "stop", home=home)
    assert again.stdout.strip() == "The emulator is not running."
    assert unrelated.poll() is None
    status = json.loads(_rollout("emulator", "status", "--json", home=home).stdout)
    assert (status["running"], status["pid"], status["registry_uri"]) == (False, None, "sqlite:///kept.db")


def test_a_restart_keeps_its_port_unless_it_is_taken(tmp_path, emulator_registry):
    state_dir = tmp_path / "emulator"
    notes: list[str] = []
    first, _ = process.start(state_dir, emulator_registry.uri, notify=notes.append)
    assert first.started_at == process._started_at(first.pid)
    try:
        assert process.stop(state_dir).stopped == first
        second, _ = process.start(state_dir, notify=notes.append)
        assert second.pid != first.pid
        assert (second.port, second.url) == (first.port, first.url)
        assert notes == []

        process.stop(state_dir)
        with socket.socket() as squatter:  # another program took the port meanwhile
            squatter.bind(("127.0.0.1", first.port))
            squatter.listen()
            third, _ = process.start(state_dir, notify=notes.append)
        assert third.port != first.port
        assert notes == [
            f"The port {first.port} the emulator of {state_dir.resolve()} served on last time is taken; "
            "serving on a free port instead (scoring URIs change)."
        ]
        current = process.status(state_dir)
        assert current is not None and current.running and current.url == third.url
    finally:
        process.stop(state_dir)
