"""Each job of a rehearsed workflow logs in as its environment's identity, with that environment's
roles and nothing more, as on GitHub (where the environment's AZURE_CLIENT_ID and OIDC subject
decide who a job is).

act has no environment-level variables, so the lab stands in for them: for every job that runs in
an environment (for the event at hand), it gives the environment's client id (`identity.client_id`
in `.github/environments.yml`) the roles that file names (`roles`, files of `.github/roles/`; an
environment the file does not list gets rollout's defaults), the lock's role on the lock's container
and the others on the emulator's resource group, and writes the token to `<tokens>/<job id>.token`.
The stand-in azure/login points the stand-in `az` at that file (ROLLOUT_AZ_TOKEN_FILE).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import yaml

from rollout.azureml.local_target import LocalTarget
from rollout.github.defaults import ENVIRONMENTS_FILE
from rollout.github.environments_config import load_config
from rollout.github.role_commands import on_storage_only, read_role
from rollout.github.roles import ROLES_DIR, environment_roles

_BY_EVENT = re.compile(r"github\.event_name == '(\w+)' && '([\w-]+)' \|\| '([\w-]+)'")
TOKEN_DIR_VARIABLE = "ROLLOUT_AZ_TOKEN_DIR"


def job_environments(workflow: Path, event_name: str) -> dict[str, str]:
    """The environment each job of the workflow runs in for this event (jobs outside any: left out)."""
    jobs: dict[str, Any] = (yaml.safe_load(workflow.read_text()) or {}).get("jobs", {})
    found: dict[str, str] = {}
    for job_id, job in jobs.items():
        environment = job.get("environment")
        name = environment.get("name") if isinstance(environment, dict) else environment
        if not isinstance(name, str):
            continue
        by_event = _BY_EVENT.search(name)
        if by_event:
            name = by_event.group(2) if by_event.group(1) == event_name else by_event.group(3)
        found[job_id] = name
    return found


def issue_job_tokens(
    target: LocalTarget, project: Path, jobs: dict[str, str], tokens: Path, lock_container: str
) -> None:
    """A token per job (`jobs`: job id -> its environment, as job_environments finds them), in
    `tokens/<job id>.token`."""
    config_path = project / ENVIRONMENTS_FILE
    declared = load_config(config_path).environments if config_path.is_file() else {}
    tokens.mkdir(parents=True, exist_ok=True)
    by_environment: dict[str, str] = {}
    for job_id, environment in jobs.items():
        if environment not in by_environment:
            spec = declared.get(environment)
            keys = spec.roles if spec and spec.roles else list(environment_roles(environment))
            client_id = (
                str(spec.identity.client_id) if spec else str(uuid.uuid5(uuid.NAMESPACE_URL, environment))
            )
            grants = [
                (
                    project / ROLES_DIR / f"{key}.json",
                    target.container_scope(lock_container)
                    if on_storage_only(read_role(project, key))
                    else None,
                )
                for key in keys
            ]
            by_environment[environment] = target.identity_token(client_id, grants)
        path = tokens / f"{job_id}.token"
        path.write_text(by_environment[environment] + "\n")
        path.chmod(0o600)
