"""Running the emulator in the background: start, stop, status.

`start` spawns `python -m rollout.emulator` detached (its own session), waits until `/healthz`
answers over HTTPS, and writes `emulator.json` (pid, url, port, ca_file, state_dir, registry_uri)
into the state directory. `stop` sends SIGTERM (the server stops its instances), waits, and clears
any straggler of the emulator's process group. The CLI and the test fixtures both use this.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rollout.emulator.constants import HOST
from rollout.emulator.models import DEFAULT_TOKEN_TTL_SECONDS
from rollout.emulator.store import ensure_private_dir
from rollout.emulator.tls import ensure_certificates, tls_files

STATUS_FILE = "emulator.json"
LOG_FILE = "emulator.log"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
_PORT_ATTEMPTS = 3

# Servers this process started, so their exit can be reaped (no zombies while we wait).
_children: dict[int, subprocess.Popen[bytes]] = {}


class EmulatorError(RuntimeError):
    """The emulator could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class EmulatorStatus:
    """A started emulator, as its status file records it."""

    pid: int
    url: str
    port: int
    ca_file: str
    state_dir: str
    registry_uri: str
    running: bool = True

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def status_path(state_dir: Path) -> Path:
    return state_dir / STATUS_FILE


def log_path(state_dir: Path) -> Path:
    return state_dir / LOG_FILE


def status(state_dir: Path) -> EmulatorStatus | None:
    """The emulator recorded in `state_dir`, with `running` saying whether it answers; None if never started."""
    path = status_path(state_dir)
    try:
        recorded = json.loads(path.read_text())
        current = EmulatorStatus(**{**recorded, "running": True})
    except (FileNotFoundError, ValueError, TypeError):
        return None
    running = _alive(current.pid) and _healthy(current)
    return current if running else EmulatorStatus(**{**current.to_json(), "running": False})


def start(
    state_dir: Path,
    registry_uri: str,
    port: int | None = None,
    *,
    timeout: float = START_TIMEOUT_SECONDS,
    poll_interval_ms: int = 200,
    token_ttl: float = DEFAULT_TOKEN_TTL_SECONDS,
) -> tuple[EmulatorStatus, bool]:
    """Start the emulator of `state_dir` unless it runs already. Returns its status and whether it was started now."""
    state_dir = ensure_private_dir(state_dir.resolve())
    current = status(state_dir)
    if current is not None and current.running:
        return current, False
    if current is not None:
        _forget(state_dir, current.pid)
    tls = ensure_certificates(state_dir)
    last_error: EmulatorError | None = None
    for _ in range(1 if port else _PORT_ATTEMPTS):
        chosen = port or free_port()
        try:
            started = _spawn(
                state_dir, registry_uri, chosen, timeout, poll_interval_ms, token_ttl, str(tls.ca_file)
            )
        except EmulatorError as error:
            last_error = error
            continue
        _write_status(state_dir, started)
        return started, True
    assert last_error is not None
    raise last_error


def stop(state_dir: Path, *, timeout: float = STOP_TIMEOUT_SECONDS) -> EmulatorStatus | None:
    """Stop the emulator of `state_dir`. Returns what was stopped, or None if it was not running."""
    state_dir = state_dir.resolve()
    current = status(state_dir)
    if current is None:
        return None
    if _alive(current.pid):
        _terminate(current.pid, timeout)
    _forget(state_dir, current.pid)
    return current if current.running else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _spawn(
    state_dir: Path,
    registry_uri: str,
    port: int,
    timeout: float,
    poll_interval_ms: int,
    token_ttl: float,
    ca_file: str,
) -> EmulatorStatus:
    command = [
        sys.executable,
        "-m",
        "rollout.emulator",
        "--state-dir",
        str(state_dir),
        "--registry-uri",
        registry_uri,
        "--port",
        str(port),
        "--poll-interval-ms",
        str(poll_interval_ms),
        "--token-ttl",
        str(token_ttl),
    ]
    log_fd = os.open(log_path(state_dir), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log_fd)
    _children[child.pid] = child
    candidate = EmulatorStatus(
        pid=child.pid,
        url=f"https://{HOST}:{port}",
        port=port,
        ca_file=ca_file,
        state_dir=str(state_dir),
        registry_uri=registry_uri,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            _children.pop(child.pid, None)
            raise EmulatorError(f"the emulator exited during start-up:\n{_log_tail(state_dir)}")
        if _healthy(candidate):
            return candidate
        time.sleep(0.1)
    _terminate(child.pid, STOP_TIMEOUT_SECONDS)
    raise EmulatorError(f"the emulator did not answer within {timeout:.0f} s:\n{_log_tail(state_dir)}")


def _healthy(candidate: EmulatorStatus) -> bool:
    import httpx

    ca_file = (
        candidate.ca_file
        if Path(candidate.ca_file).exists()
        else str(tls_files(Path(candidate.state_dir)).ca_file)
    )
    try:
        response = httpx.get(f"{candidate.url}/healthz", verify=ca_file, timeout=2.0)
        return response.status_code == 200 and response.json().get("pid") == candidate.pid
    except (httpx.HTTPError, ValueError, OSError):
        return False


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        if child.poll() is not None:
            _children.pop(pid, None)
            return False
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; only its parent has not collected it yet
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM the server, wait for it, then SIGKILL whatever is left of its process group."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout=10)


def _write_status(state_dir: Path, current: EmulatorStatus) -> None:
    path = status_path(state_dir)
    partial = path.with_suffix(".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(current.to_json(), handle, indent=2)
    partial.replace(path)


def _forget(state_dir: Path, pid: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        status_path(state_dir).unlink()
    _children.pop(pid, None)


def _log_tail(state_dir: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log_path(state_dir).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
