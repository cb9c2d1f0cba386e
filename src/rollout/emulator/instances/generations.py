"""A deployment's generations of instances: the serving one and the newer one replacing it.

Each `InstancePool.start` makes a new generation; it replaces the serving one once all its
instances are ready (or at once when the serving one has none ready), so a redeploy never leaves
the deployment without ready instances. The router reads `Slot.routing`, replaced as one tuple.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from rollout.emulator.environments import BuiltEnvironment
from rollout.emulator.instances import logs
from rollout.emulator.instances.fork_client import ForkServerClient
from rollout.emulator.instances.inference_server import ScoringScript, ServerLaunch
from rollout.emulator.instances.runtime import Runtime, describe
from rollout.emulator.instances.supervisor import Host, Instance
from rollout.emulator.resources import Deployment

ReadinessState = Literal["starting", "ready", "failed"]


@dataclass(frozen=True)
class Readiness:
    """Whether a deployment's newest set of instances is ready; `reason` says why not."""

    state: ReadinessState
    reason: str = ""


class Pool(Host, Protocol):
    """What generations and slots need from their pool."""

    @property
    def run_dir(self) -> Path: ...
    def deployment_dir(self, endpoint: str, name: str, *, create: bool = True) -> Path: ...
    def ready_process(self, environment: BuiltEnvironment) -> ForkServerClient: ...
    def retire(self, generation: Generation) -> None: ...


class Generation:
    """The instances started by one `InstancePool.start` call for a deployment, all on one runtime
    (environment and model), forked from that environment's ready process."""

    def __init__(self, pool: Pool, slot: Slot, deployment: Deployment, runtime: Runtime, number: int) -> None:
        self.pool = pool
        self.slot = slot
        self.deployment = deployment
        self.runtime = runtime
        self.number = number
        self.label = f"{deployment.endpoint}/{deployment.name}"
        self.storage_log = slot.directory / f"{logs.STORAGE_INITIALIZER}.log"
        self.ready_process = pool.ready_process(runtime.environment)
        self.run_dir = pool.run_dir / "instances" / slot.directory.parent.name / slot.directory.name
        self.instances = [
            Instance(self, index, slot.directory / f"inference-server-{number}-{index}.log")
            for index in range(max(1, deployment.instance_count))
        ]
        self.stopped = False

    @property
    def log_paths(self) -> list[Path]:
        return [instance.log_path for instance in self.instances]

    def start(self) -> None:
        environment = "\n".join(describe(self.runtime.environment))
        runtime, runs = self.runtime, []
        if runtime.model_dir is not None:
            runs.append(f"model {self.deployment.model_uri} in {runtime.model_dir}")
        if runtime.code_dir is not None:
            runs.append(f"scoring script {runtime.scoring_script} in {runtime.code_dir}")
        for instance in self.instances:
            logs.append(
                instance.log_path,
                f"starting instance {instance.index} of deployment {self.label} "
                f"({', '.join(runs)})\n{environment}",
            )
            instance.start()

    def spawn_request(self, instance: Instance) -> dict[str, Any]:
        """What the ready process needs to fork `instance`: Azure's server on the no-code MLflow
        scoring script (or the deployment's own script, its folder the app root), with the
        deployment's variables, in a working directory of its own."""
        run_dir = self.run_dir / f"{self.number}-{instance.index}"
        shutil.rmtree(run_dir, ignore_errors=True)  # a restart starts afresh, as a new container would
        scoring = self._scoring_script()
        launch = ServerLaunch(self.runtime.environment, scoring, run_dir, port=0)
        launch.runtime_dir.mkdir(parents=True, exist_ok=True)
        return {
            "argv": launch.arguments(),
            "environ": launch.environ(),
            "cwd": str(run_dir),
            "log_path": str(instance.log_path),
            "label": instance.label,
        }

    def _scoring_script(self) -> ScoringScript:
        runtime, variables = self.runtime, self.deployment.environment_variables
        if runtime.code_dir is not None and runtime.scoring_script:
            return ScoringScript.code(
                runtime.code_dir, runtime.scoring_script, model_dir=runtime.model_dir, variables=variables
            )
        if runtime.model_dir is None:
            raise ValueError(f"deployment {self.label} has neither a scoring script nor a model")
        return ScoringScript.mlflow_model(runtime.model_dir, variables)

    def remove_run_dirs(self) -> None:
        for instance in self.instances:
            shutil.rmtree(self.run_dir / f"{self.number}-{instance.index}", ignore_errors=True)

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

    def __init__(self, pool: Pool, endpoint: str, name: str) -> None:
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
