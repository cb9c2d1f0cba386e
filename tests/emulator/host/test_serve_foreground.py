"""`rollout emulator serve`: the emulator in the foreground, found by every other command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def rollout(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rollout", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_foreground_emulator_is_found_by_the_other_commands(tmp_path: Path) -> None:
    env = {**os.environ, "ROLLOUT_HOME": str(tmp_path / "home")}
    env.pop("MLFLOW_TRACKING_URI", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "rollout", "emulator", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while (status := rollout("emulator", "status", "--json", env=env)).returncode != 0:
            assert server.poll() is None and time.monotonic() < deadline, status.stderr
            time.sleep(0.3)
        assert json.loads(status.stdout)["pid"] == server.pid
        second = rollout("emulator", "serve", env=env)
        assert second.returncode == 1 and "runs already at" in second.stderr
        listed = rollout("endpoint", "show", "-n", "heart-classifier", env=env)
        assert listed.returncode == 1
        assert (
            listed.stderr.strip()
            == "error: endpoint heart-classifier does not exist; create it with `rollout endpoint apply`"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert rollout("emulator", "status", env=env).returncode == 1
