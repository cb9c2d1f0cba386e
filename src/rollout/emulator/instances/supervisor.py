"""One deployment instance and its monitor thread: spawn, probe, restart, fail.

An instance is Azure's inference server (`azmlinfsrv`: a gunicorn master and its workers), forked
from its environment's ready process. Both probes ask the server's liveness route, `GET /`, which
answers 200 once a worker has run the scoring script's `init()`. The monitor thread follows the
deployment's probe settings:

- readiness: not before `initial_delay`; ready as soon as the model has loaded after that; a
  failure counted every `period`, `failure_threshold` of them in a row before the first success
  fail the deployment; later failures take the instance out of routing until it answers again;
- liveness: from `initial_delay`, every `period`; `failure_threshold` failures in a row restart
  the instance;
- an instance that exits is restarted with an exponential back-off; one that exits by itself before
  it was ever ready (the scoring script failed to load the model, or the server to start) fails the
  deployment at once, with the error its log ends with.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from rollout.emulator.instances import logs
from rollout.emulator.instances.fork_client import MAX_BACKOFF_SECONDS, ForkServerClient, SpawnError
from rollout.emulator.resources import Deployment, Probe

STABLE_AFTER_SECONDS = 30.0
STARTUP_POLL_SECONDS = 0.02
PROBE_PATH = "/"  # azmlinfsrv's liveness route: 200 "Healthy" once a worker is serving
BOOT_FAILED_EXIT_CODE = 3  # gunicorn's master when a worker fails to boot (azmlinfsrv's exit(3))
FAILURE_TAIL_LINES = 200
SERVER_PACKAGE = "azureml_inference_server_http."  # its own exceptions wrap the script's
# The last line of a traceback: `ModuleNotFoundError: No module named 'xgboost'`.
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt): .+")


class Host(Protocol):
    """What an instance needs from its pool."""

    @property
    def stop_grace(self) -> float: ...
    @property
    def log_cap(self) -> int: ...
    def register_pid(self, pid: int, instance: Instance) -> None: ...


class Owner(Protocol):
    """What an instance needs from the generation it belongs to."""

    @property
    def pool(self) -> Host: ...
    @property
    def deployment(self) -> Deployment: ...
    @property
    def label(self) -> str: ...
    @property
    def storage_log(self) -> Path: ...
    @property
    def ready_process(self) -> ForkServerClient: ...
    def spawn_request(self, instance: Instance) -> dict[str, Any]: ...
    def changed(self) -> None: ...


class Instance:
    """One process of a deployment, watched by its own monitor thread.

    The router reads `url`; `in_flight` and `gate` belong to the router (its event loop only).
    """

    def __init__(self, generation: Owner, index: int, log_path: Path) -> None:
        self.generation = generation
        self.index = index
        self.log_path = log_path
        self.pid: int | None = None
        self.port: int | None = None
        self.url = ""
        self.ready = False
        self.failed_reason: str | None = None
        self.restarts = 0
        self.in_flight = 0
        self.gate: asyncio.Semaphore | None = None  # created by the router, on its event loop
        self._ever_ready = False
        self._returncode: int | None = None
        self._killed = False  # by the monitor (a failed liveness probe), not by itself
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
                spawned = self.generation.ready_process.spawn(self.generation.spawn_request(self))
            except SpawnError as exc:
                spawn_failures += 1
                if exc.final or spawn_failures >= 3:
                    logs.append(self.generation.storage_log, f"Instance {self.index}: {exc.reason}")
                    self._fail(exc.reason)
                    return
                self._note(f"could not start the instance ({exc.reason}); retrying")
                self._sleep(1.0)
                continue
            spawn_failures = 0
            self._exited.clear()
            self._returncode = None
            self._killed = False
            self.pid, self.port = spawned["pid"], spawned["port"]
            self.url = f"http://127.0.0.1:{self.port}"
            pool.register_pid(self.pid, self)
            started = time.monotonic()
            outcome = self._watch(deployment)
            uptime = time.monotonic() - started
            self._set_ready(False)
            if self._stopping:
                break
            if outcome.startswith("the instance exited") and not self._ever_ready and not self._killed:
                self._fail(self._start_failure(outcome))
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
            logs.rotate_if_large(self.log_path, self.generation.pool.log_cap)
            now = time.monotonic()
            if now >= live_due:
                ok, error = self._probe(PROBE_PATH, liveness)
                live_failures = 0 if ok else live_failures + 1
                if live_failures >= liveness.failure_threshold:
                    self._kill_for(f"liveness probe failed {live_failures} times ({error})")
                    return f"liveness probe failed {live_failures} times ({error})"
                live_due = now + liveness.period
            if now >= ready_due:
                ok, error = self._probe(PROBE_PATH, readiness)
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

    def _start_failure(self, outcome: str) -> str:
        """Why an instance that exited before it was ever ready failed: the error its log ends with."""
        tail = logs.tails([self.log_path], FAILURE_TAIL_LINES).splitlines()
        errors = [
            line.strip()
            for line in tail
            if _EXCEPTION_LINE.match(line.strip()) and not line.startswith(SERVER_PACKAGE)
        ]
        if self._returncode == BOOT_FAILED_EXIT_CODE:
            what = "the scoring script failed to start (its init() or import raised)"
        else:
            what = f"the inference server did not start ({outcome})"
        return f"{what}: {errors[-1]}" if errors else what

    def _set_ready(self, ready: bool) -> None:
        if self.ready != ready:
            self.ready = ready
            self.generation.changed()

    def _fail(self, reason: str) -> None:
        self.failed_reason = reason
        self._note(f"deployment failed: {reason}")
        self.generation.changed()

    def _note(self, text: str) -> None:
        logs.append(self.log_path, f"instance {self.index}: {text}")

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and not self._stopping:
            self._wake.wait(seconds)
            self._wake.clear()

    def _kill_for(self, reason: str) -> None:
        self._note(f"{reason}; killing pid {self.pid}")
        self._killed = True
        if self.pid is not None:
            self.generation.ready_process.signal(self.pid, signal.SIGKILL)
            self._exited.wait(5.0)

    def _terminate(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL after the grace period."""
        pid = self.pid
        if pid is None or self._exited.is_set():
            return
        server = self.generation.ready_process
        server.signal(pid, signal.SIGTERM)
        if not self._exited.wait(self.generation.pool.stop_grace):
            server.signal(pid, signal.SIGKILL)
            self._exited.wait(5.0)
