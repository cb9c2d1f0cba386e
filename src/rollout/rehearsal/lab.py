"""The workflow rehearsal's lab: what a real repository's Azure workspace would already hold.

A private MLflow registry with the demo model's versions, the local emulator on a private state
directory, and per scenario an endpoint of its own with a live deployment (or none, for a first
release: the endpoint is created, as its set-up step would, since the workflow's deploy job writes
deployments only). The emulator serves that registry as its workspace's MLflow registry, so the versions are
the workspace's too: on the azure target (the default a user gets) the jobs find them through the
workspace tracking URI, with the emulator presented as an Azure cloud (`rollout emulator env`) in
the runner's environment and a logged-in stand-in `az` left on PATH by the azure/login stand-in.
Each scenario rehearses a copy of the project whose endpoint is renamed to its own and whose
workflows are rendered for it, so scenarios share one emulator and one registry.
`rollout.rehearsal.repository` (the git copy and events) and `rollout.rehearsal.act` then run the
real workflows with act against it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rollout.azureml.connection import Connection
from rollout.azureml.endpoints import set_traffic
from rollout.azureml.local_target import LocalTarget
from rollout.github.workflow import RELEASE_WORKFLOW, ROLLBACK_WORKFLOW, read_plan, write
from rollout.project.layout import PLAN_FILE
from rollout.project.loading import load_project
from rollout.rehearsal import act, repository
from rollout.rehearsal.act import RunResult
from rollout.rehearsal.identities import TOKEN_DIR_VARIABLE, issue_job_tokens, job_environments
from rollout.rehearsal.repository import Repo
from rollout.release.steps import Release

MODEL = "heart-classifier"
RELEASE_TIMEOUT = 900  # seconds act may take for release.yml
ROLLBACK_TIMEOUT = 600


@dataclass
class Lab:
    """A private emulator and registry (ROLLOUT_HOME: mlflow.db, artifacts/, emulator/);
    `shared_registry`, another lab's registry URI, in place of its own."""

    home: Path
    shared_registry: str | None = None

    @property
    def registry_uri(self) -> str:
        return self.shared_registry or f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def state_dir(self) -> Path:
        return self.home / "emulator"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    def target(self) -> LocalTarget:
        return LocalTarget(self.state_dir, start=True, registry_uri=self.registry_uri)

    def connection(self) -> Connection:
        return Connection(self.target())

    def register_demo_versions(self, variants: Iterable[int] = (1, 2)) -> list[int]:
        """Train and register the demo model's versions (1, 2, ...) in the lab's registry."""
        from rollout.demo_model.training import train_and_register

        return [
            int(
                train_and_register(
                    MODEL,
                    variant=variant,
                    seed=0,
                    tracking_uri=self.registry_uri,
                    artifacts_dir=self.artifacts_dir,
                ).version
            )
            for variant in variants
        ]

    def register_model_dirs(self, model_dirs: Iterable[Path]) -> list[int]:
        """Register MLflow model directories (already trained) as the lab's next versions."""
        from rollout import registry

        client = registry.client(self.registry_uri)
        return [
            registry.register_model(client, MODEL, path, artifacts_dir=self.artifacts_dir)
            for path in model_dirs
        ]

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.target().emulator(start=True)

    def serve_live(self, project_root: Path, version: int) -> None:
        """The project's endpoint with one slot serving `version`, all traffic, no release open."""
        rel = Release(self.connection(), load_project(project_root))
        result = rel.deploy(version=version)
        if result.candidate:
            set_traffic(rel.conn.ml, rel.endpoint_name, {result.candidate: 100})
        rel.retire()

    def release(self, project_root: Path) -> Release:
        return Release(self.connection(), load_project(project_root))

    def lock_account_url(self) -> str:
        """The blob service of the workspace's default datastore, on the emulator's host: the
        plan's `lock.account_url` in the lab's projects, since the jobs reach the emulator as an
        Azure cloud whose storage host names resolve nowhere offline."""
        store = self.connection().ml.datastores.get_default()
        return self.target().blob_account_url(str(store.account_name), str(store.endpoint))

    def status(self, project_root: Path) -> dict[str, Any]:
        return self.release(project_root).status().to_dict()

    def lock_container(self, project_root: Path) -> str:
        """The container of the project's release lock: the plan's, else the default datastore's."""
        lock = yaml.safe_load((project_root / PLAN_FILE).read_text()).get("lock") or {}
        return str(lock.get("container") or self.connection().ml.datastores.get_default().container_name)

    def cloud_env(self) -> dict[str, str]:
        """The emulator presented as an Azure cloud (`rollout emulator env`), split in two.

        The runner's environment (the cloud, its CA, the `az` token file, AzureCliCredential) and
        the repository variables' ids (subscription, resource group, workspace).
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE", "ARM_", "MLFLOW_"))}
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "rollout",
                "emulator",
                "env",
                "--json",
                "--state-dir",
                str(self.state_dir),
            ],
            env={**env, "ROLLOUT_HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if shown.returncode != 0:
            raise act.RehearsalError(f"rollout emulator env failed: {shown.stderr.strip()}")
        variables: dict[str, str] = json.loads(shown.stdout)
        return {**variables, "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential"}

    def stop(self) -> None:
        self.target().stop()


def lab_project(
    source: Path, dest: Path, endpoint: str, plan: Path = PLAN_FILE, changes: dict[str, Any] | None = None
) -> Path:
    """A copy of the project whose endpoint is `endpoint` and whose workflows are rendered for it.

    `changes` replaces top-level entries of the plan (`stages`, `analysis`) in the copy; nothing
    else changes.
    """
    if dest.exists():
        shutil.rmtree(dest)
    for name in repository.project_files(source):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)
    for path in sorted((dest / "endpoints").glob("*.yml")):
        path.write_text(re.sub(r"(?m)^name:\s*\S+", f"name: {endpoint}", path.read_text(), count=1))
    for path in sorted((dest / "deployments").glob("*.yml")):
        path.write_text(re.sub(r"(?m)^endpoint_name:\s*\S+", f"endpoint_name: {endpoint}", path.read_text()))
    if changes:
        plan_file = dest / plan
        edited = {**yaml.safe_load(plan_file.read_text()), **changes}
        plan_file.write_text(yaml.safe_dump(edited, sort_keys=False))
    write(dest, read_plan(dest, plan))
    return dest


def stages_baking(source: Path, bake: str, plan: Path = PLAN_FILE) -> dict[str, Any]:
    """The plan's stages with every bake set to `bake`, as a scenario's `plan`: a rehearsal
    shortens the bakes in its copy of the plan, since the workflows' traffic stages take no
    shorter bake from the repository variable ROLLOUT_BAKE (the plan's is their minimum)."""
    stages = yaml.safe_load((source / plan).read_text()).get("stages") or []
    return {"stages": [{**stage, "bake": bake} for stage in stages]}


@dataclass
class Scenario:
    """One endpoint of the lab and the project copy that releases to it."""

    name: str
    project: Path
    work: Path
    rehearsal: Rehearsal

    @property
    def endpoint(self) -> str:
        return load_project(self.project).endpoint_name

    def push(
        self,
        before_pin: int,
        change: Callable[[Path], None],
        *,
        on_job: Callable[[str, str], None] | None = None,
        variables: dict[str, str] | None = None,
    ) -> RunResult:
        """Push `change` on top of a commit pinning `before_pin`, and run release.yml."""
        repo = repository.make_repo(self.project, self.work / "push" / "repo", before_pin, change)
        runner = self.runner(repo, "push", variables, self.identities(RELEASE_WORKFLOW, "push", "push"))
        return runner.run(
            act.Event("push", repository.push_event(repo)),
            RELEASE_WORKFLOW,
            timeout=RELEASE_TIMEOUT,
            on_job=on_job,
        )

    def dispatch_rollback(
        self,
        pin: int,
        *,
        inputs: dict[str, str] | None = None,
        on_job: Callable[[str, str], None] | None = None,
        variables: dict[str, str] | None = None,
    ) -> RunResult:
        """Someone runs rollback.yml by hand (a workflow_dispatch event) on a commit pinning `pin`."""
        repo = repository.make_repo(self.project, self.work / "rollback" / "repo", pin, lambda _: None)
        identities = self.identities(ROLLBACK_WORKFLOW, "workflow_dispatch", "rollback")
        runner = self.runner(repo, "rollback", variables, identities)
        return runner.run(
            act.Event("workflow_dispatch", repository.dispatch_event(repo, inputs)),
            ROLLBACK_WORKFLOW,
            timeout=ROLLBACK_TIMEOUT,
            on_job=on_job,
        )

    def identities(self, workflow: Path, event_name: str, label: str) -> dict[str, str]:
        """Each job's token, its environment's identity's (see rehearsal.identities), for the
        runner's environment."""
        tokens = self.work / label / "tokens"
        lab = self.rehearsal.lab
        jobs = job_environments(self.project / workflow, event_name)
        issue_job_tokens(lab.target(), self.project, jobs, tokens, lab.lock_container(self.project))
        return {TOKEN_DIR_VARIABLE: str(tokens)}

    def runner(
        self, repo: Repo, label: str, variables: dict[str, str] | None, env: dict[str, str] | None = None
    ) -> act.ActRun:
        return act.ActRun(
            repo=repo.path,
            work=self.work / label,
            venv=self.rehearsal.venv,
            rollout_home=self.rehearsal.lab.home,
            variables={**self.rehearsal.variables, **(variables or {})},
            stand_ins=self.rehearsal.source / repository.STAND_INS,
            cloud_env={**self.rehearsal.runner_env, **(env or {})},
        )

    def release(self) -> Release:
        return self.rehearsal.lab.release(self.project)

    def status(self) -> dict[str, Any]:
        return self.rehearsal.lab.status(self.project)


@dataclass(frozen=True)
class RunnerSettings:
    """The repository variables a rehearsal's workflows run with.

    `target` "azure" (what a user gets) leaves ROLLOUT_TARGET unset, so the workflows' default
    applies; any other value sets it. `bake` and `probe_rps` are ROLLOUT_BAKE (None: each stage
    bakes as the plan says) and ROLLOUT_PROBE_RPS.
    """

    target: str = "azure"
    bake: str | None = "10s"
    probe_rps: float = 25

    def variables(self) -> dict[str, str]:
        return {
            **({} if self.target == "azure" else {"ROLLOUT_TARGET": self.target}),
            **({"ROLLOUT_BAKE": self.bake} if self.bake else {}),
            "ROLLOUT_PROBE_RPS": f"{self.probe_rps:g}",
        }


@dataclass
class Rehearsal:
    """One prepared lab and a working folder; each scenario gets an endpoint and runs act."""

    source: Path  # the project whose workflows and code are rehearsed
    work: Path
    lab: Lab
    variables: dict[str, str]
    runner_env: dict[str, str] = field(default_factory=dict)  # the cloud the runner runs in
    venv: Path = field(default_factory=act.prepared_venv)

    @classmethod
    def prepare(
        cls,
        source: Path,
        work: Path,
        settings: RunnerSettings = RunnerSettings(),
        *,
        variants: Iterable[int] = (1, 2),
        model_dirs: Sequence[Path] | None = None,
    ) -> Rehearsal:
        """Register the versions and start the emulator (scenarios then create their endpoints).

        The runner's environment holds the emulator presented as an Azure cloud and the repository
        variables hold `settings`' and the emulator's subscription, resource group and workspace.
        `model_dirs` (MLflow model directories) are registered as versions 1, 2, ... instead of
        training the demo model's `variants`.
        """
        work.mkdir(parents=True, exist_ok=True)
        act.find_act()
        lab = Lab(work / "rollout-home")
        if model_dirs is None:
            lab.register_demo_versions(variants)
        else:
            lab.register_model_dirs(model_dirs)
        lab.start()
        cloud = lab.cloud_env()
        ids = ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE")
        variables = {
            **settings.variables(),
            **repository.AZURE_VARS,
            **{name: cloud[name] for name in ids},  # the emulator's scope, as repository variables
        }
        runner_env = {name: value for name, value in cloud.items() if name not in ids}
        return cls(source.resolve(), work, lab, variables, runner_env)

    def scenario(
        self, name: str, live_version: int | None = 1, plan: dict[str, Any] | None = None
    ) -> Scenario:
        """An endpoint named `rh-<name>` with `live_version` serving (none: a new endpoint); `plan`
        replaces top-level entries of the project's release plan."""
        folder = self.work / name
        lock = yaml.safe_load((self.source / PLAN_FILE).read_text()).get("lock") or {}
        changes = {"lock": {**lock, "account_url": self.lab.lock_account_url()}, **(plan or {})}
        project = lab_project(self.source, folder / "project", f"rh-{name}"[:32].rstrip("-"), changes=changes)
        if live_version:
            self.lab.serve_live(project, live_version)
        else:  # the set-up step that creates an endpoint, which no job of the workflow writes
            self.lab.release(project).apply_endpoint()
        return Scenario(name, project, folder, self)

    def close(self) -> None:
        self.lab.stop()
