"""The Azure roles of the release's jobs, as code: a custom role per kind of job, with the least
Azure's actions allow, written beside `.github/environments.yml` as `.github/roles/<name>.json`
(Azure's `roleDefinition` shape, as `az role definition create` takes it) by `rollout init` and
`rollout workflow render`, and checked by `rollout workflow render --check`.

Each environment of `.github/environments.yml` names the roles its identity gets (`roles:`); an
environment gets the roles of every job that runs in it (see `ENVIRONMENT_JOBS`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ROLES_DIR = Path(".github/roles")
ML = "Microsoft.MachineLearningServices/workspaces"
ENDPOINTS = ML + "/onlineEndpoints"
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
# Where each role's definition may be assigned: the resource group of the workspace and the lock's
# storage account (`rollout github roles` fills in the subscription and group).
ASSIGNABLE_SCOPE = "/subscriptions/{subscription}/resourceGroups/{resource_group}"
READ = (ML + "/read", ENDPOINTS + "/read", ENDPOINTS + "/deployments/read")
# The release lock's default datastore, read with ml_client.datastores.
DATASTORES = (ML + "/datastores/read",)
MODELS = (ML + "/models/read", ML + "/models/versions/read")
# The scoring credential each auth mode needs: keys never expire, tokens do (where the mode allows).
SCORE_CREDENTIAL = {
    "key": (ENDPOINTS + "/listKeys/action",),
    "aml_token": (ENDPOINTS + "/token/action",),
    "aad_token": (),
}

# The role that writes the endpoint (traffic), and the one that writes deployments (which can
# replace the live slot's model): the environments that hold either can change what users are
# served, and keep admins from bypassing their rules (`can_admins_bypass: false`).
TRAFFIC_ROLE = "rollout-traffic"
DEPLOY_ROLE = "rollout-deploy"
SERVING_ROLES = {TRAFFIC_ROLE: "can move live traffic", DEPLOY_ROLE: "can replace a deployment's model"}
# The role of the pull-request check's identity, which runs in no environment (its federated
# credential's subject is `repo:OWNER/REPO:pull_request`): it reads the two model versions a
# rehearsal releases and the endpoint, and nothing else (no write, no keys, no scoring).
PULL_REQUEST_ROLE = "rollout-pull-request"

Scope = Literal["workspace", "lock container"]


@dataclass(frozen=True)
class JobRole:
    """One kind of job's role: its definition and where it is assigned."""

    key: str  # the file's name, .github/roles/<key>.json, and what environments.yml names
    name: str  # the role's Name in Azure (unique in the tenant)
    description: str
    actions: tuple[str, ...]
    data_actions: tuple[str, ...]
    scope: Scope

    def definition(self, subscription: str = "{subscription}", group: str = "{resource_group}") -> str:
        """The role's definition as JSON, its assignable scope filled in when given."""
        scope = ASSIGNABLE_SCOPE.format(subscription=subscription, resource_group=group)
        return (
            json.dumps(
                {
                    "Name": self.name,
                    "IsCustom": True,
                    "Description": self.description,
                    "Actions": list(self.actions),
                    "NotActions": [],
                    "DataActions": list(self.data_actions),
                    "NotDataActions": [],
                    "AssignableScopes": [scope],
                },
                indent=2,
            )
            + "\n"
        )


def job_roles(auth_mode: str = "key") -> list[JobRole]:
    """Every kind of job's role, for an endpoint of this auth mode (`key`, `aml_token`, `aad_token`)."""
    return [
        JobRole(
            "rollout-gate",
            "rollout gate",
            "The gate: reads the endpoint's traffic and release tags and its deployments; changes nothing",
            READ,
            (),
            "workspace",
        ),
        JobRole(
            "rollout-acceptance",
            "rollout acceptance",
            "The acceptance suite: reads the endpoint, its deployments and models, and scores the candidate",
            READ + MODELS + SCORE_CREDENTIAL.get(auth_mode, SCORE_CREDENTIAL["key"]),
            (ENDPOINTS + "/score/action",),
            "workspace",
        ),
        JobRole(
            DEPLOY_ROLE,
            "rollout deploy",
            "Deploy and retire: creates and deletes the endpoint's deployments (the release's record "
            "goes on the candidate's tags) and reads their logs (a failure's cause, the environment's "
            "packages); writes no endpoint, so moves no traffic",
            (
                *READ,
                ENDPOINTS + "/deployments/write",
                ENDPOINTS + "/deployments/delete",
                ENDPOINTS + "/deployments/getLogs/action",
                *MODELS,
                *DATASTORES,
            ),
            (),
            "workspace",
        ),
        JobRole(
            TRAFFIC_ROLE,
            "rollout traffic",
            "Traffic stages and rollbacks: writes the endpoint (traffic, mirror traffic, release tags), "
            "scores it (the stage's smoke test and probe load) and reads its metrics",
            (
                *READ,
                ENDPOINTS + "/write",
                *SCORE_CREDENTIAL.get(auth_mode, SCORE_CREDENTIAL["key"]),
                "Microsoft.Insights/metrics/read",
                *DATASTORES,
            ),
            (ENDPOINTS + "/score/action",),
            "workspace",
        ),
        JobRole(
            "rollout-lock",
            "rollout release lock",
            "The release lock: reads and writes (and leases) the lock blobs of one container",
            (),
            (BLOBS + "/read", BLOBS + "/write"),
            "lock container",
        ),
        JobRole(
            PULL_REQUEST_ROLE,
            "rollout pull request",
            "The pull-request check's rehearsal: reads the workspace, its models and the endpoint (whose "
            "get lists its deployments); writes nothing, lists no keys, scores nothing",
            READ + MODELS,
            (),
            "workspace",
        ),
    ]


# The jobs of each kind of environment, and so the roles its identity needs. `release` runs the
# gate of a push, deploy, acceptance and retire, none of which writes the endpoint (deploy records
# the release on the candidate deployment, retire only deletes the drained one); `release-dispatch`
# only the gate of a run started by hand; a stage's environment its stage (the last stage's also
# the manual rollback); `retire` (a plan's retire_after) the retire job; `release-rollback` the
# release's safety-net rollback, the one job without reviewers that moves traffic.
ENVIRONMENT_JOBS = {
    "release": ("rollout-acceptance", "rollout-deploy", "rollout-lock"),
    "release-dispatch": ("rollout-gate",),
    "release-rollback": ("rollout-traffic", "rollout-lock"),
    "retire": ("rollout-deploy", "rollout-lock"),
    "stage": ("rollout-traffic", "rollout-lock"),
}


def environment_roles(environment: str) -> tuple[str, ...]:
    """The roles an environment's identity gets by default (any other name is a stage's)."""
    return ENVIRONMENT_JOBS.get(environment, ENVIRONMENT_JOBS["stage"])


def role_files(auth_mode: str = "key") -> dict[Path, str]:
    """`.github/roles/<key>.json` for every role, by path relative to the project root."""
    return {ROLES_DIR / f"{role.key}.json": role.definition() for role in job_roles(auth_mode)}
