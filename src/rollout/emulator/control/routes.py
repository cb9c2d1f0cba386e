"""The control plane's route table: each ARM path and method azure-ai-ml calls, and its handler."""

from __future__ import annotations

from starlette.routing import Route

from rollout.emulator.control.azure_monitor.route import DEFINITIONS_SUFFIX, METRICS_SUFFIX, MonitorApi
from rollout.emulator.control.guard import Guard, Handler
from rollout.emulator.control.handlers import ArmApi
from rollout.emulator.control.workspace import OPERATIONS_PATH, WORKSPACE_PATH

WS = WORKSPACE_PATH
ENDPOINT = WS + "/onlineEndpoints/{endpoint}"
DEPLOYMENT = ENDPOINT + "/deployments/{deployment}"
MODEL = WS + "/models/{model}"
OPERATION = OPERATIONS_PATH


def routes(api: ArmApi, monitor: MonitorApi, guard: Guard) -> list[Route]:
    """Every ARM route, guarded (authenticated, scoped, errors in Azure's shape)."""
    table: list[tuple[str, str, Handler]] = [
        ("GET", WS, api.get_workspace),
        ("GET", WS + "/onlineEndpoints", api.list_endpoints),
        ("GET", ENDPOINT, api.get_endpoint),
        ("PUT", ENDPOINT, api.put_endpoint),
        ("PATCH", ENDPOINT, api.patch_endpoint),
        ("DELETE", ENDPOINT, api.delete_endpoint),
        ("POST", ENDPOINT + "/listKeys", api.list_keys),
        ("POST", ENDPOINT + "/regenerateKeys", api.regenerate_keys),
        ("POST", ENDPOINT + "/token", api.get_token),
        ("GET", ENDPOINT + "/deployments", api.list_deployments),
        ("GET", DEPLOYMENT, api.get_deployment),
        ("PUT", DEPLOYMENT, api.put_deployment),
        ("PATCH", DEPLOYMENT, api.patch_deployment),
        ("DELETE", DEPLOYMENT, api.delete_deployment),
        ("POST", DEPLOYMENT + "/getLogs", api.get_logs),
        ("GET", DEPLOYMENT + "/skus", api.list_skus),
        ("GET", WS + "/models", api.list_models),
        ("GET", MODEL, api.get_model),
        ("GET", MODEL + "/versions", api.list_model_versions),
        ("GET", MODEL + "/versions/{version}", api.get_model_version),
        ("POST", MODEL + "/versions/{version}/package", api.package_model),
        ("GET", ENDPOINT + METRICS_SUFFIX, monitor.endpoint_metrics),
        ("GET", DEPLOYMENT + METRICS_SUFFIX, monitor.deployment_metrics),
        ("GET", ENDPOINT + DEFINITIONS_SUFFIX, monitor.endpoint_definitions),
        ("GET", DEPLOYMENT + DEFINITIONS_SUFFIX, monitor.deployment_definitions),
    ]
    # A long-running operation is polled at the subscription's location, above the resource group
    # where a job's role is assigned; ARM lets any signed-in caller poll it (its id is the secret).
    polls = [
        Route(
            OPERATION + f"/{kind}/{{operation}}",
            guard(handler),
            methods=["GET"],
            name=f"arm.{handler.__name__}.get",
        )
        for kind, handler in (
            ("mfeOperationsStatus", api.operation_status),
            ("mfeOperationResults", api.operation_result),
        )
    ]
    return [*guard.routes(table), *polls]
