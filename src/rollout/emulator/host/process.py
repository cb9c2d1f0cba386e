"""Running the emulator in the background: start, stop, status.

`start` spawns `python -m rollout.emulator` detached (its own session), waits until `/healthz`
answers over HTTPS (then until the deployments restored from its state are ready, `restore_wait`),
and writes `emulator.json` (pid, the process's start time, url, port, ca_file,
state_dir, registry_uri) into the state directory; the file stays after a stop, as the record of
the last run. A later start serves on the port recorded there when it is free (so scoring URIs stay
the same), else on a free port. `stop` signals only the process the record names if it is still
that emulator (same start time, or it answers `/healthz` with that pid): SIGTERM (the server stops
its instances), a wait, then SIGKILL for any straggler of the emulator's process group. A record
whose pid now names another process is stale: its pid is cleared and nothing is signalled. The CLI
and the test fixtures both use this.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from rollout.core import paths
from rollout.core.files import write_atomically
from rollout.core.waiting import wait_until
from rollout.emulator.constants import HOST, PORT_TAKEN_MARK
from rollout.emulator.control.timing import Timing
from rollout.emulator.credentials import DEFAULT_TOKEN_TTL_SECONDS
from rollout.emulator.host import restore_wait
from rollout.emulator.host.tls import ensure_certificates
from rollout.emulator.private_dir import ensure_private_dir

STATUS_FILE = "emulator.json"
LOG_FILE = "emulator.log"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
POLL_INTERVAL_MS = 200  # the Retry-After-ms the server asks of clients polling its long-running operations
_PORT_ATTEMPTS = 3

# Servers this process started, so their exit can be reaped (no zombies while we wait).
_children: dict[int, subprocess.Popen[bytes]] = {}


class EmulatorError(RuntimeError):
    """The emulator could not be started or stopped; the message says why."""


class _PortTaken(EmulatorError):
    """The server could not listen on its port."""


@dataclass(frozen=True)
class EmulatorStatus:
    """A started emulator, as its status file records it (`pid` None once a stale record was cleared)."""

    pid: int | None
    url: str
    port: int
    ca_file: str
    state_dir: str
    registry_uri: str
    started_at: float | None = None  # the process's creation time (seconds since the epoch), None if unknown
    running: bool = True

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Launch:
    """How `start` runs a server, whatever port it tries."""

    state_dir: Path
    registry_uri: str
    ca_file: str
    timing: Timing | None


@dataclass(frozen=True)
class StopResult:
    """What `stop` did: the emulator it stopped, or the pid of a stale record it left alone."""

    stopped: EmulatorStatus | None = None
    stale_pid: int | None = None


def status_path(state_dir: Path) -> Path:
    return state_dir / STATUS_FILE


def log_path(state_dir: Path) -> Path:
    return state_dir / LOG_FILE


def status(state_dir: Path) -> EmulatorStatus | None:
    """The emulator recorded in `state_dir`, `running` saying whether it answers; None if never started."""
    path = status_path(state_dir)
    try:
        recorded: dict[str, Any] = json.loads(path.read_text())
        current = EmulatorStatus(**{**recorded, "running": True})
    except (FileNotFoundError, ValueError, TypeError):
        return None
    running = current.pid is not None and _alive(current.pid) and _healthy(current)
    return current if running else dataclasses.replace(current, running=False)


def start(
    state_dir: Path,
    registry_uri: str | None = None,
    port: int | None = None,
    *,
    timing: Timing | None = None,
    notify: Callable[[str], None] | None = None,
) -> tuple[EmulatorStatus, bool]:
    """Start the emulator of `state_dir` unless it runs already. Returns its status and whether it
    was started now.

    Without `registry_uri` it serves the registry it served last time, or else the local default.
    Without `port` it serves on the port it served last time when that is free (`notify` hears
    when it is not), or else on a free port. Without `timing` the emulator reads
    $ROLLOUT_EMULATOR_TIMING and $ROLLOUT_EMULATOR_TIME_SCALE (else instant). It returns once the
    deployments restored from the state are ready or failed (`restore_wait`, within a bound;
    `notify` hears the progress)."""
    state_dir = ensure_private_dir(state_dir.resolve())
    current = status(state_dir)
    if current is not None and current.running:
        restore_wait.wait(current.url, current.ca_file, notify, started_now=False)
        return current, False
    if registry_uri is None:
        registry_uri = current.registry_uri if current is not None else paths.registry_uri()
    launch = _Launch(state_dir, registry_uri, str(ensure_certificates(state_dir).ca_file), timing)
    chosen_by_caller = port is not None
    if port is None and current is not None:
        port = _recorded_port(state_dir, current.port, notify)
    attempts = 1 if chosen_by_caller else _PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        chosen = port if port and attempt == 1 else free_port()
        try:
            started = _spawn(launch, chosen)
        except _PortTaken as error:
            if attempt == attempts:
                raise EmulatorError(str(error)) from None
            continue  # another process took the free port first: pick another
        _write_status(state_dir, started)
        restore_wait.wait(started.url, started.ca_file, notify)
        return started, True
    raise AssertionError("unreachable")


def stop(state_dir: Path, *, timeout: float = STOP_TIMEOUT_SECONDS) -> StopResult:
    """Stop the emulator of `state_dir`, if it runs and is still the process its record names.

    A record whose pid now belongs to another process (the emulator died without a stop, and the
    pid was reused) is stale: that process is left alone and the record's pid is cleared.
    """
    state_dir = state_dir.resolve()
    current = status(state_dir)
    if current is None or current.pid is None:
        return StopResult()
    pid = current.pid
    if not _alive(pid):
        _children.pop(pid, None)
        return StopResult()
    if not _is_recorded_emulator(current):
        _write_status(state_dir, dataclasses.replace(current, pid=None, started_at=None, running=False))
        return StopResult(stale_pid=pid)
    _terminate(pid, timeout)
    return StopResult(stopped=current)


def record_foreground(state_dir: Path, registry_uri: str | None, port: int | None) -> EmulatorStatus:
    """Record this process as the emulator of `state_dir` (`rollout emulator serve`), so that the
    other commands find it as they find one started in the background. Without `port`, the port
    it served last time if free, else a free one."""
    state_dir = ensure_private_dir(state_dir.resolve())
    current = status(state_dir)
    if current is not None and current.running:
        raise EmulatorError(f"the emulator of {state_dir} runs already at {current.url} (pid {current.pid})")
    if registry_uri is None:
        registry_uri = current.registry_uri if current is not None else paths.registry_uri()
    if port is None and current is not None:
        port = _recorded_port(state_dir, current.port, None)
    port = port or free_port()
    tls = ensure_certificates(state_dir)
    recorded = EmulatorStatus(
        pid=os.getpid(),
        url=f"https://{HOST}:{port}",
        port=port,
        ca_file=str(tls.ca_file),
        state_dir=str(state_dir),
        registry_uri=registry_uri,
        started_at=_started_at(os.getpid()),
    )
    _write_status(state_dir, recorded)
    return recorded


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether the emulator could listen on `port` now (bound as the server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def _recorded_port(state_dir: Path, port: int, notify: Callable[[str], None] | None) -> int | None:
    """The port the emulator of `state_dir` served on last time, if it is free; else None (and a note)."""
    if port_is_free(port):
        return port
    if notify is not None:
        notify(
            f"The port {port} the emulator of {state_dir} served on last time is taken; "
            "serving on a free port instead (scoring URIs change)."
        )
    return None


def _spawn(launch: _Launch, port: int) -> EmulatorStatus:
    command = [
        sys.executable,
        "-m",
        "rollout.emulator",
        "--state-dir",
        str(launch.state_dir),
        "--registry-uri",
        launch.registry_uri,
        "--port",
        str(port),
        "--poll-interval-ms",
        str(POLL_INTERVAL_MS),
        "--token-ttl",
        str(DEFAULT_TOKEN_TTL_SECONDS),
    ]
    if launch.timing is not None:
        command += ["--timing", launch.timing.profile, "--time-scale", repr(launch.timing.scale)]
    log_fd = os.open(log_path(launch.state_dir), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    log_start = os.fstat(log_fd).st_size
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
        ca_file=launch.ca_file,
        state_dir=str(launch.state_dir),
        registry_uri=launch.registry_uri,
        started_at=_started_at(child.pid),
    )

    def answers() -> bool:
        if child.poll() is not None:
            _children.pop(child.pid, None)
            output = _log_since(launch.state_dir, log_start)
            if PORT_TAKEN_MARK in output:
                raise _PortTaken(output.strip().splitlines()[-1].removeprefix("error: "))
            raise EmulatorError(f"the emulator exited during start-up:\n{output}")
        return _healthy(candidate)

    if wait_until(answers, START_TIMEOUT_SECONDS, interval=0.1):
        return candidate
    _terminate(child.pid, STOP_TIMEOUT_SECONDS)
    output = _log_since(launch.state_dir, log_start)
    raise EmulatorError(f"the emulator did not answer within {START_TIMEOUT_SECONDS:.0f} s:\n{output}")


def _healthy(candidate: EmulatorStatus) -> bool:
    import httpx

    try:
        context = ssl.create_default_context(cafile=candidate.ca_file)
        response = httpx.get(f"{candidate.url}/healthz", verify=context, timeout=2.0)
        return response.status_code == 200 and response.json().get("pid") == candidate.pid
    except (httpx.HTTPError, ValueError, OSError):
        return False


def _is_recorded_emulator(recorded: EmulatorStatus) -> bool:
    """Whether the live process `recorded.pid` is the emulator the record names, not a later process
    that got the same pid: this process spawned it, its creation time matches, or (where that cannot
    be read, or the record is older and counted clock ticks) it answers `/healthz` over HTTPS with
    that pid."""
    assert recorded.pid is not None
    if recorded.pid in _children:
        return True
    started_at = _started_at(recorded.pid)
    if started_at is not None and isinstance(recorded.started_at, float):
        return started_at == recorded.started_at
    return _healthy(recorded)


def _started_at(pid: int) -> float | None:
    """When process `pid` was created (seconds since the epoch); None if unknown."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _alive(pid: int) -> bool:
    """Whether process `pid` runs: a zombie (exited, not yet collected by its parent) does not."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is not None:
            _children.pop(pid, None)
            return False
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM the server, wait for it, then SIGKILL whatever is left of its process group."""
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).terminate()
    wait_until(lambda: not _alive(pid), timeout)  # not psutil's wait, which waits out a zombie
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout=10)


def _write_status(state_dir: Path, current: EmulatorStatus) -> None:
    write_atomically(status_path(state_dir), json.dumps(current.to_json(), indent=2).encode())


def _log_since(state_dir: Path, offset: int, lines: int = 30) -> str:
    """The last lines the emulator logged after `offset` (its output during this start)."""
    try:
        with open(log_path(state_dir), "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"
