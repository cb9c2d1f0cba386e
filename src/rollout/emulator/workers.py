"""Deployments as processes: one OS process per deployment instance, probes, restarts and logs.

`WorkerPool` runs a fork server (`rollout.emulator.zygote`) that has imported mlflow, pandas,
scikit-learn and xgboost once; each instance is a fork of it that only loads its model and serves
it on a free loopback port (`rollout.emulator.worker`). A monitor thread per instance follows the
deployment's probe settings:

- readiness: not before `initial_delay`; ready as soon as the model has loaded after that; a
  failure counted every `period`, `failure_threshold` of them in a row before the first success
  fail the deployment; later failures take the instance out of routing until it answers again;
- liveness: from `initial_delay`, every `period`; `failure_threshold` failures in a row restart
  the instance;
- an instance that exits is restarted with an exponential back-off; a model that cannot be loaded
  (or resolved in the registry) fails the deployment at once, with the reason.

Every instance writes its output to its own log file (capped: rotated to `.1` past
`LOG_CAP_BYTES`); `logs()` returns their tails, `note()` adds platform events to them.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rollout.emulator.models import Deployment, Probe
from rollout.emulator.worker import LOAD_FAILED_EXIT_CODE

logger = logging.getLogger(__name__)

LOG_CAP_BYTES = 5 * 1024 * 1024
SPAWN_TIMEOUT_SECONDS = 120.0
STOP_GRACE_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 30.0
STABLE_AFTER_SECONDS = 30.0
STARTUP_POLL_SECONDS = 0.02
STORAGE_INITIALIZER = "storage-initializer"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

ReadinessState = Literal["starting", "ready", "failed"]


@dataclass(frozen=True)
class Readiness:
    """Whether a deployment's newest set of instances is ready; `reason` says why not."""

    state: ReadinessState
    reason: str = ""


class SpawnError(Exception):
    """The fork server could not start an instance; `final` when retrying cannot help."""

    def __init__(self, reason: str, *, final: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _append(path: Path, text: str) -> None:
    """Append platform lines to a log file (O_APPEND: safe next to the instance's own writes)."""
    lines = "".join(f"{_timestamp()} [platform] {line}\n" for line in text.splitlines() or [""])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)


def _rotate_if_large(path: Path, cap: int) -> None:
    """Copy-truncate rotation: the writer keeps its O_APPEND descriptor and continues at 0."""
    try:
        if path.stat().st_size <= cap:
            return
        shutil.copyfile(path, path.with_name(path.name + ".1"))
        os.truncate(path, 0)
    except FileNotFoundError:
        pass


def _tail(path: Path, lines: int | None) -> list[str]:
    """The last `lines` lines of a log file and its rotated predecessor (`.1`)."""
    text: list[str] = []
    for part in (path.with_name(path.name + ".1"), path):
        try:
            text.extend(part.read_text(errors="replace").splitlines())
        except FileNotFoundError:
            continue
    return text if lines is None else text[-lines:] if lines > 0 else []


def _tails(paths: Sequence[Path], lines: int | None) -> str:
    """Tails of several instances' logs, each under a header when there is more than one."""
    if len(paths) == 1:
        return "\n".join(_tail(paths[0], lines))
    parts = []
    for path in paths:
        parts.append(f"===== {path.stem} =====")
        parts.extend(_tail(path, lines))
    return "\n".join(parts)


# The fork server ---------------------------------------------------------------------------------


class ForkServerClient:
    """Starts `rollout.emulator.zygote`, sends it spawn/signal commands and dispatches its events."""

    def __init__(self, registry_uri: str, log_path: Path, on_exit: Callable[[int, int], None]) -> None:
        self._registry_uri = registry_uri
        self._log_path = log_path
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._replies: dict[str, tuple[threading.Event, dict]] = {}
        self._live: set[int] = set()
        self._closing = False
        self._restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._launch()

    def _launch(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if sys.platform == "darwin":
            env["OBJC_DISABLE_INITIALIZE_FORK_SAFETY"] = "YES"
        with open(self._log_path, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "rollout.emulator.zygote", "--registry-uri", self._registry_uri],
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

    def spawn(self, request: dict, timeout: float = SPAWN_TIMEOUT_SECONDS) -> dict:
        """Start one instance; returns the `spawned` event (pid, port, source) or raises SpawnError."""
        request_id = uuid.uuid4().hex
        done, box = threading.Event(), {}
        with self._lock:
            if self._closing:
                raise SpawnError("the emulator is stopping", final=False)
            self._replies[request_id] = (done, box)
            try:
                self._send({**request, "op": "spawn", "id": request_id})
            except OSError as exc:
                self._replies.pop(request_id, None)
                raise SpawnError(f"the fork server is not running: {exc}", final=False) from exc
        if not done.wait(timeout):
            with self._lock:
                self._replies.pop(request_id, None)
            raise SpawnError(
                f"the fork server did not start the instance within {timeout:.0f} s", final=False
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

    def _send(self, command: dict) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write((json.dumps(command) + "\n").encode())
        self._process.stdin.flush()

    def _read_events(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            event = json.loads(line)
            kind = event.get("event")
            if kind == "ready":
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
            box["event"] = {"event": "spawn_failed", "reason": "the fork server exited", "final": False}
            done.set()
        for pid in lost:
            self._on_exit(pid, -signal.SIGKILL)
        if closing:
            return
        self._restarts += 1
        logger.error("The fork server exited with code %s; restarting it", process.returncode)
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
        try:
            assert process.stdin is not None
            process.stdin.close()  # end of stdin: the fork server stops its instances and exits
        except OSError:
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Instances ---------------------------------------------------------------------------------------


class Instance:
    """One process of a deployment, watched by its own monitor thread.

    The router reads `url`; `in_flight` and `gate` belong to the router (its event loop only).
    """

    def __init__(self, generation: Generation, index: int, log_path: Path) -> None:
        self.generation = generation
        self.index = index
        self.log_path = log_path
        self.failure_path = log_path.with_suffix(".failure")
        self.pid: int | None = None
        self.port: int | None = None
        self.url = ""
        self.ready = False
        self.failed_reason: str | None = None
        self.restarts = 0
        self.in_flight = 0
        self.gate: object | None = None
        self._ever_ready = False
        self._returncode: int | None = None
        self._exited = threading.Event()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"instance-{generation.label}-{index}", daemon=True
        )

    @property
    def label(self) -> str:
        return f"{self.generation.label}/{self.index}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    @property
    def monitoring(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def process_exited(self, returncode: int) -> None:
        self._returncode = returncode
        self._exited.set()
        self._wake.set()

    # Monitor thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        pool = self.generation.pool
        deployment = self.generation.deployment
        spawn_failures = 0
        while not self._stopping:
            try:
                spawned = pool.fork_server.spawn(self._spawn_request(deployment))
            except SpawnError as exc:
                spawn_failures += 1
                if exc.final or spawn_failures >= 3:
                    _append(self.generation.storage_log, f"Instance {self.index}: {exc.reason}")
                    self._fail(exc.reason)
                    return
                self._note(f"could not start the instance ({exc.reason}); retrying")
                self._sleep(1.0)
                continue
            spawn_failures = 0
            self._exited.clear()
            self._returncode = None
            self.pid, self.port = spawned["pid"], spawned["port"]
            self.url = f"http://127.0.0.1:{self.port}"
            pool.register_pid(self.pid, self)
            if self.restarts == 0:
                _append(
                    self.generation.storage_log,
                    f"Instance {self.index}: model {deployment.model_uri} -> {spawned['source']}",
                )
            started = time.monotonic()
            outcome = self._watch(deployment)
            uptime = time.monotonic() - started
            self._set_ready(False)
            if self._stopping:
                break
            if outcome == "load-failed":
                outcome = self._failure_reason() or f"the instance exited with code {self._returncode}"
                if not self._ever_ready:
                    self._fail(outcome)
                    return
            if outcome == "readiness-failed":
                return
            if uptime > STABLE_AFTER_SECONDS:
                self.restarts = 0
            delay = 0.0 if self.restarts == 0 else min(MAX_BACKOFF_SECONDS, 2.0 ** (self.restarts - 1))
            self.restarts += 1
            self._note(f"{outcome}; restarting the instance in {delay:.0f} s (restart {self.restarts})")
            self._sleep(delay)
        self._terminate()

    def _spawn_request(self, deployment: Deployment) -> dict:
        self.failure_path.unlink(missing_ok=True)
        return {
            "model_uri": deployment.model_uri,
            "env": dict(deployment.environment_variables),
            "log_path": str(self.log_path),
            "failure_path": str(self.failure_path),
            "label": self.label,
        }

    def _watch(self, deployment: Deployment) -> str:
        """Probe the running process until it exits or must be restarted; returns why it ended."""
        readiness, liveness = deployment.readiness_probe, deployment.liveness_probe
        start = time.monotonic()
        next_ready_count = start + readiness.initial_delay + readiness.period
        ready_due = start + readiness.initial_delay
        live_due = start + liveness.initial_delay
        ready_failures = ready_successes = live_failures = 0
        process_ready = False  # until this process first answers its readiness probe
        last_error = ""
        while True:
            now = time.monotonic()
            due = min(ready_due, live_due)
            if now < due:
                self._wake.wait(min(due - now, 1.0))
                self._wake.clear()
            if self._stopping:
                return "stopped"
            if self._exited.is_set():
                return self._exit_outcome()
            _rotate_if_large(self.log_path, self.generation.pool.log_cap)
            now = time.monotonic()
            if now >= live_due:
                ok, error = self._probe("/live", liveness)
                live_failures = 0 if ok else live_failures + 1
                if live_failures >= liveness.failure_threshold:
                    self._kill_for(f"liveness probe failed {live_failures} times ({error})")
                    return f"liveness probe failed {live_failures} times ({error})"
                live_due = now + liveness.period
            if now >= ready_due:
                ok, error = self._probe("/ready", readiness)
                if self._exited.is_set():
                    return self._exit_outcome()
                if not process_ready:
                    if ok:
                        process_ready = self._ever_ready = True
                        self._set_ready(True)
                        ready_due = now + readiness.period
                        continue
                    last_error = error
                    if now >= next_ready_count:
                        ready_failures += 1
                        next_ready_count += readiness.period
                        if ready_failures >= readiness.failure_threshold:
                            reason = f"readiness probe failed {ready_failures} times ({last_error})"
                            self._kill_for(reason)
                            if self._ever_ready:
                                return reason
                            self._fail(reason)
                            return "readiness-failed"
                    ready_due = now + min(readiness.period, STARTUP_POLL_SECONDS * (1 + (now - start)))
                    continue
                if ok:
                    ready_failures = 0
                    ready_successes += 1
                    if not self.ready and ready_successes >= readiness.success_threshold:
                        self._set_ready(True)
                else:
                    ready_successes = 0
                    ready_failures += 1
                    if self.ready and ready_failures >= readiness.failure_threshold:
                        self._note(f"readiness probe failed {ready_failures} times ({error}); not routed")
                        self._set_ready(False)
                ready_due = now + readiness.period

    def _exit_outcome(self) -> str:
        code = self._returncode
        if code == LOAD_FAILED_EXIT_CODE:
            return "load-failed"
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"the instance was killed by signal {name}"
        return f"the instance exited with code {code}"

    def _probe(self, path: str, probe: Probe) -> tuple[bool, str]:
        if self.port is None:
            return False, "no process"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=max(probe.timeout, 0.1))
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return True, ""
            return False, f"GET {path} answered {response.status}"
        except (OSError, http.client.HTTPException) as exc:
            return False, f"GET {path} failed: {exc or type(exc).__name__}"
        finally:
            connection.close()

    def _failure_reason(self) -> str | None:
        try:
            return self.failure_path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def _set_ready(self, ready: bool) -> None:
        if self.ready != ready:
            self.ready = ready
            self.generation.changed()

    def _fail(self, reason: str) -> None:
        self.failed_reason = reason
        self._note(f"deployment failed: {reason}")
        self.generation.changed()

    def _note(self, text: str) -> None:
        _append(self.log_path, f"instance {self.index}: {text}")

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and not self._stopping:
            self._wake.wait(seconds)
            self._wake.clear()

    def _kill_for(self, reason: str) -> None:
        self._note(f"{reason}; killing pid {self.pid}")
        if self.pid is not None:
            self.generation.pool.fork_server.signal(self.pid, signal.SIGKILL)
            self._exited.wait(5.0)

    def _terminate(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL after the grace period."""
        pid = self.pid
        if pid is None or self._exited.is_set():
            return
        server = self.generation.pool.fork_server
        server.signal(pid, signal.SIGTERM)
        if not self._exited.wait(self.generation.pool.stop_grace):
            server.signal(pid, signal.SIGKILL)
            self._exited.wait(5.0)


# Generations and deployments ---------------------------------------------------------------------


class Generation:
    """The instances started by one `WorkerPool.start` call for a deployment."""

    def __init__(self, pool: WorkerPool, slot: Slot, deployment: Deployment, number: int) -> None:
        self.pool = pool
        self.slot = slot
        self.deployment = deployment
        self.number = number
        self.label = f"{deployment.endpoint}/{deployment.name}"
        self.storage_log = slot.directory / f"{STORAGE_INITIALIZER}.log"
        self.instances = [
            Instance(self, index, slot.directory / f"inference-server-{number}-{index}.log")
            for index in range(max(1, deployment.instance_count))
        ]
        self.stopped = False

    @property
    def log_paths(self) -> list[Path]:
        return [instance.log_path for instance in self.instances]

    def start(self) -> None:
        for instance in self.instances:
            _append(
                instance.log_path,
                f"starting instance {instance.index} of deployment {self.label} "
                f"(model {self.deployment.model_uri})",
            )
            instance.start()

    def stop(self) -> None:
        self.stopped = True
        for instance in self.instances:
            instance.stop()

    def changed(self) -> None:
        self.slot.refresh()

    def readiness(self) -> Readiness:
        """Ready once every instance is ready and routed to (so a client sees what it was told)."""
        failed = [i.failed_reason for i in self.instances if i.failed_reason]
        if failed:
            return Readiness("failed", failed[0])
        serving, routable = self.slot.routing
        if serving is self and len(routable) == len(self.instances):
            return Readiness("ready")
        ready = sum(1 for i in self.instances if i.ready)
        return Readiness("starting", f"{ready} of {len(self.instances)} instances ready")

    def all_ready(self) -> bool:
        return all(i.ready for i in self.instances)

    def running(self) -> bool:
        """Whether a monitor thread still runs (it ends once its process has stopped)."""
        return any(i.monitoring for i in self.instances)

    def any_ready(self) -> bool:
        return any(i.ready for i in self.instances)


class Slot:
    """A deployment's serving generation and the newer one replacing it, if any."""

    def __init__(self, pool: WorkerPool, endpoint: str, name: str) -> None:
        self.pool = pool
        self.directory = pool.deployment_dir(endpoint, name)
        self.lock = threading.RLock()
        self.serving: Generation | None = None
        self.pending: Generation | None = None
        # The serving generation and its ready instances, replaced as one (readers take no lock).
        self.routing: tuple[Generation | None, tuple[Instance, ...]] = (None, ())

    @property
    def newest(self) -> Generation | None:
        return self.pending or self.serving

    def replace(self, generation: Generation) -> None:
        with self.lock:
            retired = []
            if self.pending is not None:
                retired.append(self.pending)
            if self.serving is None or not self.serving.any_ready():
                if self.serving is not None:
                    retired.append(self.serving)
                self.serving, self.pending = generation, None
            else:
                self.pending = generation
            for old in retired:
                self.pool.retire(old)
            self.refresh()
        generation.start()

    def refresh(self) -> None:
        with self.lock:
            if self.pending is not None and self.pending.all_ready():
                old, self.serving, self.pending = self.serving, self.pending, None
                if old is not None:
                    self.pool.retire(old)
            serving = self.serving
            self.routing = (serving, tuple(i for i in serving.instances if i.ready) if serving else ())

    def stop(self) -> list[Generation]:
        with self.lock:
            generations = [g for g in (self.serving, self.pending) if g is not None]
            self.serving = self.pending = None
            self.routing = (None, ())
        for generation in generations:
            generation.stop()
        return generations


class WorkerPool:
    """Every deployment instance of one emulator, as processes forked from a warm fork server."""

    def __init__(
        self,
        log_dir: Path,
        registry_uri: str,
        *,
        log_cap: int = LOG_CAP_BYTES,
        stop_grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.registry_uri = registry_uri
        self.log_cap = log_cap
        self.stop_grace = stop_grace
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str], Slot] = {}
        self._by_pid: dict[int, Instance] = {}
        self._early_exits: dict[int, int] = {}
        self._retired: list[Generation] = []
        self._numbers = itertools.count(int(time.time() * 1000))
        self._closed = False
        self.fork_server = ForkServerClient(
            registry_uri, self.log_dir / "fork-server.log", self._process_exited
        )

    # The contract ------------------------------------------------------------------------------

    def start(self, deployment: Deployment) -> None:
        """(Re)start the deployment's instances; returns at once. Newer instances replace older
        ones once they are all ready."""
        if self._closed:
            raise RuntimeError("the worker pool is closed")
        key = _key(deployment.endpoint, deployment.name)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = Slot(self, deployment.endpoint, deployment.name)
                for stale in slot.directory.glob("inference-server-*"):
                    stale.unlink(missing_ok=True)
        slot.replace(Generation(self, slot, deployment, next(self._numbers)))

    def readiness(self, endpoint: str, name: str) -> Readiness:
        slot = self._slots.get(_key(endpoint, name))
        generation = slot.newest if slot else None
        if generation is None:
            return Readiness("failed", "the deployment has no instances")
        return generation.readiness()

    def stop(self, endpoint: str, name: str) -> None:
        """Stop the deployment's instances (in the background); returns at once."""
        with self._lock:
            slot = self._slots.pop(_key(endpoint, name), None)
        if slot is not None:
            generations = slot.stop()
            with self._lock:
                self._retired = [g for g in self._retired if g.running()] + generations

    def close(self) -> None:
        """Stop every instance and the fork server; waits for them (no orphan processes)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            slots, self._slots = list(self._slots.values()), {}
        generations = [g for slot in slots for g in slot.stop()]
        with self._lock:
            generations.extend(self._retired)
        deadline = time.monotonic() + self.stop_grace + 5.0
        for generation in generations:
            for instance in generation.instances:
                instance.join(max(0.0, deadline - time.monotonic()))
        self.fork_server.close()

    def logs(
        self, endpoint: str, name: str, lines: int | None = None, container_type: str | None = None
    ) -> str:
        """Recent output of the deployment's newest instances, or the platform's notes
        (`container_type` "storage-initializer")."""
        directory = self.deployment_dir(endpoint, name, create=False)
        storage_log = directory / f"{STORAGE_INITIALIZER}.log"
        if _normalize(container_type) == _normalize(STORAGE_INITIALIZER):
            return _tails([storage_log], lines)
        slot = self._slots.get(_key(endpoint, name))
        generation = slot.newest if slot else None
        if generation is not None:
            return _tails(generation.log_paths, lines)
        paths = sorted(directory.glob("inference-server-*.log")) if directory.is_dir() else []
        return _tails(paths or [storage_log], lines)

    def note(self, endpoint: str, name: str, text: str) -> None:
        """Record a platform event; it shows in both kinds of logs."""
        directory = self.deployment_dir(endpoint, name)
        _append(directory / f"{STORAGE_INITIALIZER}.log", text)
        slot = self._slots.get(_key(endpoint, name))
        generation = slot.newest if slot else None
        for path in generation.log_paths if generation else []:
            _append(path, text)

    # For the router ----------------------------------------------------------------------------

    def ready_instances(self, endpoint: str, name: str) -> tuple[Instance, ...]:
        """The serving instances that pass their readiness probe (cheap: one dict lookup)."""
        slot = self._slots.get((endpoint.lower(), name.lower()))
        return slot.routing[1] if slot is not None else ()

    # Internals ---------------------------------------------------------------------------------

    def deployment_dir(self, endpoint: str, name: str, *, create: bool = True) -> Path:
        for part in (endpoint, name):
            if not _SAFE_NAME.match(part):
                raise ValueError(f"not a valid endpoint or deployment name: {part!r}")
        directory = self.log_dir / endpoint.lower() / name.lower()
        if create:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return directory

    def register_pid(self, pid: int, instance: Instance) -> None:
        with self._lock:
            returncode = self._early_exits.pop(pid, None)
            if returncode is None:
                self._by_pid[pid] = instance
        if returncode is not None:  # it exited before its monitor got here
            instance.process_exited(returncode)

    def retire(self, generation: Generation) -> None:
        """Stop a replaced generation; its log files go once its processes have ended."""
        generation.stop()
        with self._lock:
            self._retired.append(generation)

        def cleanup() -> None:
            for instance in generation.instances:
                instance.join(self.stop_grace + 10.0)
            for path in generation.log_paths:
                for stale in (path, path.with_name(path.name + ".1"), path.with_suffix(".failure")):
                    stale.unlink(missing_ok=True)
            with self._lock:
                if generation in self._retired:
                    self._retired.remove(generation)

        threading.Thread(target=cleanup, name="retire", daemon=True).start()

    def _process_exited(self, pid: int, returncode: int) -> None:
        with self._lock:
            instance = self._by_pid.pop(pid, None)
            if instance is None:
                self._early_exits[pid] = returncode
        if instance is not None:
            instance.process_exited(returncode)


def _key(endpoint: str, name: str) -> tuple[str, str]:
    return endpoint.lower(), name.lower()


def _normalize(container_type: str | None) -> str:
    return re.sub(r"[^a-z]", "", (container_type or "").lower())


__all__ = ["Instance", "Readiness", "SpawnError", "WorkerPool"]
