"""Deployments as processes: the pool of every deployment instance of one emulator.

A deployment is prepared first (`prepare`, at provisioning): its model's files mounted as Azure
mounts them, a code deployment's folder copied as its app root, and its environment built from the
model's own dependencies or the deployment's own environment (`runtime`). Each
environment gets one ready process (`instance_forkserver`, through `fork_client`) that runs in that
environment's Python and has imported Azure's inference server, MLflow and the model's libraries
once; each instance is a fork of it running Azure's server (`azmlinfsrv`) on the no-code MLflow
scoring script or the deployment's own `score.py`, on a free loopback port. Each instance has a
monitor thread (`supervisor`) that probes and restarts it; a deployment's instances come in
generations (`generations`), a newer one replacing the serving one once ready. Log files: `logs`.

A ready process starts with the first deployment of its environment, or ahead of any (`warm`: the
emulator warms the cached environments used most recently when it starts, so that their first
deployment does not wait for the imports). One warmed ahead that no deployment claims within
`warm_idle` seconds stops; a claimed one lasts as long as the pool.

A deployment brought back after the emulator restarts is `restoring` until provisioning says it is
`restored` (ready or failed): its readiness is "starting" even before its instances exist (not
"no instances"), so that the router holds its requests instead of refusing them, and
`restore_progress` tells how each restored deployment is doing.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rollout.emulator.environments import BuiltEnvironment, EnvironmentCache
from rollout.emulator.instances import logs
from rollout.emulator.instances.fork_client import ForkServerClient, ReadyLaunch
from rollout.emulator.instances.generations import Generation, Readiness, Slot
from rollout.emulator.instances.inference_server import bytecode_kept, server_free_environ
from rollout.emulator.instances.runtime import (
    CodeSource,
    Runtime,
    build_code_environment,
    build_environment,
    mount_code,
    mount_model,
)
from rollout.emulator.instances.supervisor import Instance
from rollout.emulator.resources import Deployment, parse_model_reference

STOP_GRACE_SECONDS = 5.0
RESTORING_REASON = "restoring after the emulator restarted: its instances are starting"
WARM_IDLE_SECONDS = 600.0  # how long a ready process started ahead waits for a deployment
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class InstancePool:
    """Every deployment instance of one emulator, as processes forked from their environment's
    ready process. `log_dir` holds the logs, `run_dir` the model mounts and the processes' working
    directories; environments come from `environments`."""

    def __init__(  # noqa: PLR0913 (the settings after `*` are tuning knobs, each with a default)
        self,
        log_dir: Path,
        run_dir: Path,
        environments: EnvironmentCache,
        *,
        log_cap: int = logs.LOG_CAP_BYTES,
        stop_grace: float = STOP_GRACE_SECONDS,
        warm_idle: float = WARM_IDLE_SECONDS,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.run_dir = Path(run_dir).absolute()
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.environments = environments
        self.log_cap = log_cap
        self.stop_grace = stop_grace
        self.warm_idle = warm_idle
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str], Slot] = {}
        self._by_pid: dict[int, Instance] = {}
        self._early_exits: dict[int, int] = {}
        self._retired: list[Generation] = []
        self._numbers = itertools.count(int(time.time() * 1000))
        self._closed = False
        self._ready_processes: dict[str, ForkServerClient] = {}
        self._unclaimed: dict[str, threading.Timer] = {}  # warmed ahead, no deployment yet
        self._restores: dict[tuple[str, str], tuple[str, str]] = {}  # every restored deployment
        self._restoring: set[tuple[str, str]] = set()  # those not ready (or failed) yet

    # The contract ------------------------------------------------------------------------------

    def prepare(
        self, deployment: Deployment, model_files: Path | None, code: CodeSource | None = None
    ) -> Runtime:
        """Mount the model's files (if the deployment has a model) and a code deployment's folder,
        and build (or find) the deployment's environment: the model's own dependencies, or `code`'s
        environment; notes the progress in its logs and blocks for as long as the build takes.
        Raises `EnvironmentProblem`."""
        model_dir = None
        if model_files is not None:
            name, version = parse_model_reference(deployment.model_uri)
            model_dir = mount_model(self.run_dir / "models", name, version, Path(model_files))

        def note(text: str) -> None:
            self.note(deployment.endpoint, deployment.name, text)

        if code is None:
            if model_files is None:
                raise ValueError("a deployment without a scoring script needs a model")
            return Runtime(build_environment(self.environments, Path(model_files), note), model_dir)
        environment = build_code_environment(self.environments, code, note)
        code_dir = mount_code(self.run_dir, code)
        return Runtime(environment, model_dir, code_dir, code.scoring_script)

    def start(self, deployment: Deployment, runtime: Runtime) -> None:
        """(Re)start the deployment's instances on `runtime`; returns at once. Newer instances
        replace older ones once they are all ready."""
        if self._closed:
            raise RuntimeError("the instance pool is closed")
        key = _key(deployment.endpoint, deployment.name)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = Slot(self, deployment.endpoint, deployment.name)
                for stale in slot.directory.glob("inference-server-*"):
                    stale.unlink(missing_ok=True)
        slot.replace(Generation(self, slot, deployment, runtime, next(self._numbers)))

    def readiness(self, endpoint: str, name: str) -> Readiness:
        key = _key(endpoint, name)
        slot = self._slots.get(key)
        generation = slot.newest if slot else None
        if generation is None:
            if key in self._restoring:
                return Readiness("starting", RESTORING_REASON)
            return Readiness("failed", "the deployment has no instances")
        return generation.readiness()

    def restoring(self, endpoint: str, name: str) -> None:
        """Note that the deployment is being brought back after a restart (its instances not
        started yet): it is starting, not without instances, until `restored`."""
        key = _key(endpoint, name)
        with self._lock:
            self._restores[key] = (endpoint, name)
            self._restoring.add(key)

    def restored(self, endpoint: str, name: str) -> None:
        """The deployment's restore has ended (ready, or failed); nothing for one not restoring."""
        with self._lock:
            self._restoring.discard(_key(endpoint, name))

    def is_restoring(self, endpoint: str, name: str) -> bool:
        return _key(endpoint, name) in self._restoring

    def restore_progress(self) -> list[RestoreProgress]:
        """Every deployment restored since the pool started (and not deleted since), with how it is
        doing (its readiness), and whether its restore is still under way."""
        with self._lock:
            restores, restoring = dict(self._restores), set(self._restoring)
        progress = []
        for key, (endpoint, name) in restores.items():
            readiness = self.readiness(endpoint, name)
            progress.append(
                RestoreProgress(endpoint, name, readiness.state, readiness.reason, key in restoring)
            )
        return progress

    def stop(self, endpoint: str, name: str) -> None:
        """Stop the deployment's instances (in the background); returns at once."""
        with self._lock:
            slot = self._slots.pop(_key(endpoint, name), None)
            self._restoring.discard(_key(endpoint, name))
            self._restores.pop(_key(endpoint, name), None)
        if slot is not None:
            generations = slot.stop()
            with self._lock:
                self._retired = [g for g in self._retired if g.running()] + generations

    def close(self) -> None:
        """Stop every instance and the ready processes; waits for them (no orphan processes)."""
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
        with self._lock:
            ready_processes, self._ready_processes = list(self._ready_processes.values()), {}
            timers, self._unclaimed = list(self._unclaimed.values()), {}
        for timer in timers:
            timer.cancel()
        for ready in ready_processes:
            ready.close()

    def logs(
        self, endpoint: str, name: str, lines: int | None = None, container_type: str | None = None
    ) -> str:
        """Recent output of the deployment's newest instances, or the platform's notes
        (`container_type` "storage-initializer")."""
        directory = self.deployment_dir(endpoint, name, create=False)
        storage_log = directory / f"{logs.STORAGE_INITIALIZER}.log"
        if logs.is_storage_initializer(container_type):
            return logs.tails([storage_log], lines)
        slot = self._slots.get(_key(endpoint, name))
        generation = slot.newest if slot else None
        if generation is not None:
            return logs.tails(generation.log_paths, lines)
        paths = sorted(directory.glob("inference-server-*.log")) if directory.is_dir() else []
        return logs.tails(paths or [storage_log], lines)

    def note(self, endpoint: str, name: str, text: str) -> None:
        """Record a platform event; it shows in both kinds of logs."""
        directory = self.deployment_dir(endpoint, name)
        logs.append(directory / f"{logs.STORAGE_INITIALIZER}.log", text)
        slot = self._slots.get(_key(endpoint, name))
        generation = slot.newest if slot else None
        for path in generation.log_paths if generation else []:
            logs.append(path, text)

    # For the router ----------------------------------------------------------------------------

    def ready_instances(self, endpoint: str, name: str) -> tuple[Instance, ...]:
        """The serving instances that pass their readiness probe (cheap: one dict lookup)."""
        slot = self._slots.get((endpoint.lower(), name.lower()))
        return slot.routing[1] if slot is not None else ()

    # Internals ---------------------------------------------------------------------------------

    def ready_process(self, environment: BuiltEnvironment) -> ForkServerClient:
        """The environment's ready process, started on first use (it preloads in the background;
        spawns wait for it), or the one warmed ahead for it, which is now claimed."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the instance pool is closed")
            timer = self._unclaimed.pop(environment.key, None)
            if timer is not None:
                timer.cancel()
            ready = self._ready_processes.get(environment.key)
            if ready is None:
                ready = self._ready_processes[environment.key] = self._launch(environment)
            return ready

    def warm(self, environments: Iterable[BuiltEnvironment]) -> list[str]:
        """Start the ready processes of `environments` ahead of their deployments (each imports in
        the background); one that no deployment claims within `warm_idle` seconds stops. The keys
        of those started now (an environment whose ready process runs already is left as it is)."""
        started = []
        for environment in environments:
            with self._lock:
                if self._closed:
                    break
                if environment.key in self._ready_processes:
                    continue
                self._ready_processes[environment.key] = self._launch(environment)
                timer = threading.Timer(self.warm_idle, self._stop_unclaimed, args=(environment.key,))
                timer.daemon = True
                self._unclaimed[environment.key] = timer
            timer.start()
            started.append(environment.key)
        return started

    def warm_recent(self, limit: int) -> list[str]:
        """What a freshly started emulator does before its first deployments: warm the ready
        processes of the `limit` cached environments used most recently, then find this machine's
        interpreters (which the first `prepare` needs, and takes a second or so to list). The keys
        of the environments warmed now; nothing at all for a `limit` of 0."""
        if limit <= 0:
            return []
        started = self.warm(self.environments.recent(limit))
        self.environments.interpreters()
        return started

    def ready_processes(self) -> list[ForkServerClient]:
        with self._lock:
            return list(self._ready_processes.values())

    def ready_environments(self) -> frozenset[str]:
        """The keys of the environments that have a ready process."""
        with self._lock:
            return frozenset(self._ready_processes)

    def unclaimed_environments(self) -> frozenset[str]:
        """The keys of the environments whose ready process was warmed ahead and no deployment has
        used yet."""
        with self._lock:
            return frozenset(self._unclaimed)

    def _launch(self, environment: BuiltEnvironment) -> ForkServerClient:
        launch = ReadyLaunch(
            python=environment.python,
            cwd=self.run_dir / "ready" / environment.key,
            log_path=self.log_dir / f"ready-process-{environment.key}.log",
            environ=bytecode_kept(server_free_environ()),
        )
        return ForkServerClient(launch, self._process_exited)

    def _stop_unclaimed(self, key: str) -> None:
        """Stop the ready process warmed ahead for `key` if no deployment has claimed it."""
        with self._lock:
            if self._unclaimed.pop(key, None) is None:
                return
            ready = self._ready_processes.pop(key, None)
        if ready is not None:
            ready.close()

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
                for stale in (path, path.with_name(path.name + ".1")):
                    stale.unlink(missing_ok=True)
            generation.remove_run_dirs()
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


@dataclass(frozen=True)
class RestoreProgress:
    """How a deployment brought back after a restart is doing: `state` "starting", "ready" or
    "failed" (`reason` says why not ready); `restoring` until provisioning has seen it end."""

    endpoint: str
    name: str
    state: str
    reason: str = ""
    restoring: bool = False


def _key(endpoint: str, name: str) -> tuple[str, str]:
    return endpoint.lower(), name.lower()


__all__ = ["InstancePool", "Readiness", "RestoreProgress"]
