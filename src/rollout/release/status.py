"""Status: the endpoint, its deployments with their traffic and role (candidate, live or idle), and
the release its tags record, and during a release the packages that differ between live and the
candidate (as their deploys recorded them in this machine's history). Reads only."""

from __future__ import annotations

from rollout.azureml.endpoints import live_traffic, mirror_traffic
from rollout.azureml.sdk import state_name
from rollout.release import history
from rollout.release.context import ReleaseContext
from rollout.release.results import DeploymentStatus, Status
from rollout.release.roles import TAG_VERDICT, model_of, read_roles


def status(ctx: ReleaseContext) -> Status:
    endpoint = ctx.endpoint()
    deployments = ctx.deployments()
    roles = read_roles(endpoint, deployments)
    live_now, mirror = live_traffic(endpoint), mirror_traffic(endpoint)

    def role(name: str) -> str:
        if name == roles.candidate:
            return "candidate"
        if name == roles.live:
            return "live"
        return "idle"

    return Status(
        endpoint=endpoint.name or ctx.endpoint_name,
        state=state_name(endpoint.provisioning_state),
        scoring_uri=endpoint.scoring_uri,
        traffic=live_now,
        mirror_traffic=mirror,
        live=roles.live,
        candidate=roles.candidate,
        release=roles.model if roles.in_progress else None,
        stage=roles.stage,
        verdict=(endpoint.tags or {}).get(TAG_VERDICT) if roles.on_endpoint else None,
        deployments=[
            DeploymentStatus(
                name=name,
                model=model_of(d),
                state=state_name(d.provisioning_state),
                instance_type=d.instance_type,
                instance_count=d.instance_count,
                traffic=live_now.get(name, 0),
                mirror=mirror.get(name, 0),
                role=role(name),
            )
            for name, d in sorted(deployments.items())
        ],
        packages=None
        if roles.candidate is None
        else history.package_diff(
            history.read(ctx.endpoint_name),
            roles.live,
            roles.candidate,
            {name: model_of(d) for name, d in deployments.items()},
        ),
    )
