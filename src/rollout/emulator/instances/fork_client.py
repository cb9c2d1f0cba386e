"""The pool's side of an environment's ready process (`instance_forkserver`): start it in the
environment's own Python, send it commands, dispatch its events.

The protocol is described in `rollout.emulator.instances.instance_forkserver`. A ready process that
exits is restarted with a back-off; the instances it took with it are reported as killed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SPAWN_TIMEOUT_SECONDS = 120.0
MAX_BACKOFF_SECONDS = 30.0
READY_PROCESS_SCRIPT = Path(__file__).resolve().parent / "instance_forkserver.py"
# Runs the script as `__main__` without putting its folder (rollout's own modules) on `sys.path`.
_BOOTSTRAP = "import runpy, sys\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n"


@dataclass(frozen=True)
class ReadyLaunch:
    """How to start a ready process: with `python` (an environment's), in `cwd` (its `sys.path[0]`:
    keep it empty), with `environ`, its own output to `log_path`."""

    python: Path
    cwd: Path
    log_path: Path
    environ: Mapping[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        return [str(self.python), "-c", _BOOTSTRAP, str(READY_PROCESS_SCRIPT)]


class SpawnError(Exception):
    """The ready process could not start an instance; `final` when retrying cannot help."""

    def __init__(self, reason: str, *, final: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final


class ForkServerClient:
    """Starts a ready process, sends it spawn/signal commands and dispatches its events."""

    def __init__(self, launch: ReadyLaunch, on_exit: Callable[[int, int], None]) -> None:
        self.launch = launch
        self.preloaded: list[str] = []  # the modules the ready process imported
        self.preload_seconds: float | None = None
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._replies: dict[str, tuple[threading.Event, dict[str, Any]]] = {}
        self._live: set[int] = set()
        self._closing = False
        self._restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._launch()

    def _launch(self) -> None:
        env = dict(self.launch.environ, PYTHONUNBUFFERED="1")
        if sys.platform == "darwin":
            env["OBJC_DISABLE_INITIALIZE_FORK_SAFETY"] = "YES"
        self.launch.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.launch.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self.launch.command(),
                cwd=self.launch.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                close_fds=True,
            )
        self._ready.clear()
        threading.Thread(
            target=self._read_events, args=(self._process,), name="fork-server-events", daemon=True
        ).start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def spawn(self, request: dict[str, Any], timeout: float = SPAWN_TIMEOUT_SECONDS) -> dict[str, Any]:
        """Start one instance; returns the `spawned` event (pid, port, source) or raises SpawnError."""
        request_id = uuid.uuid4().hex
        done = threading.Event()
        box: dict[str, Any] = {}
        with self._lock:
            if self._closing:
                raise SpawnError("the emulator is stopping", final=False)
            self._replies[request_id] = (done, box)
            try:
                self._send({**request, "op": "spawn", "id": request_id})
            except OSError as exc:
                self._replies.pop(request_id, None)
                raise SpawnError(f"the ready process is not running: {exc}", final=False) from exc
        if not done.wait(timeout):
            with self._lock:
                self._replies.pop(request_id, None)
            raise SpawnError(
                f"the ready process did not start the instance within {timeout:.0f} s", final=False
            )
        event = box["event"]
        if event["event"] == "spawned":
            return event
        raise SpawnError(event["reason"], final=event.get("final", True))

    def signal(self, pid: int, signum: int) -> None:
        with self._lock:
            if pid not in self._live:
                return
            with contextlib.suppress(OSError):
                self._send({"op": "signal", "pid": pid, "signal": int(signum)})

    def _send(self, command: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write((json.dumps(command) + "\n").encode())
        self._process.stdin.flush()

    def _read_events(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            event = json.loads(line)
            kind = event.get("event")
            if kind == "ready":
                self.preloaded = list(event.get("preloaded", []))
                self.preload_seconds = event.get("seconds")
                self._ready.set()
            elif kind in ("spawned", "spawn_failed"):
                with self._lock:
                    waiter = self._replies.pop(event["id"], None)
                    if kind == "spawned":
                        self._live.add(event["pid"])
                if waiter is None and kind == "spawned":  # the requester gave up: do not leak it
                    self.signal(event["pid"], signal.SIGKILL)
                elif waiter is not None:
                    waiter[1]["event"] = event
                    waiter[0].set()
            elif kind == "exited":
                with self._lock:
                    self._live.discard(event["pid"])
                self._on_exit(event["pid"], event["returncode"])
        process.wait()
        self._fork_server_gone(process)

    def _fork_server_gone(self, process: subprocess.Popen[bytes]) -> None:
        """Its instances died with it (parent-death signal): report them, fail waiting spawns."""
        with self._lock:
            lost, self._live = self._live, set()
            waiters, self._replies = self._replies, {}
            closing = self._closing
        for done, box in waiters.values():
            box["event"] = {"event": "spawn_failed", "reason": "the ready process exited", "final": False}
            done.set()
        for pid in lost:
            self._on_exit(pid, -signal.SIGKILL)
        if closing:
            return
        self._restarts += 1
        logger.error("The ready process exited with code %s; restarting it", process.returncode)
        time.sleep(min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(self._restarts, 6)))
        with self._lock:
            if not self._closing:
                self._launch()

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._closing = True
            process = self._process
        if process is None:
            return
        if not self._ready.is_set():  # still preloading: it has no instance yet, and reads no stdin
            process.kill()
        try:
            assert process.stdin is not None
            process.stdin.close()  # end of stdin: the ready process stops its instances and exits
        except OSError:
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
