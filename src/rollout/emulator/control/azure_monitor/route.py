"""Azure Monitor's metrics routes on the emulator's resources:
`GET {endpoint or deployment resource id}/providers/Microsoft.Insights/metrics`, and
`.../providers/Microsoft.Insights/metricDefinitions`, the metrics published on the resource.

Guarded as every ARM route (the management token, any `api-version`: 2024-02-01, 2023-10-01,
2018-01-01, ...). Query parameters: `timespan`, `interval`, `metricnames`, `aggregation`, `$filter`,
`top`, `orderby`, `metricnamespace` (`monitor_query` says how they are read). The metrics of an
endpoint come from the scoring plane's request history; a deployment's (CPU, memory, disk,
capacity by instance) are not measured and answer empty series. An unknown metric, aggregation or
dimension answers Azure Monitor's flat error `{"code": "BadRequest", "message": ...}` (400); an
unknown endpoint or deployment Azure Resource Manager's `ResourceNotFound` (404).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rollout.emulator.control.azure_monitor.definitions import (
    DEPLOYMENT_METRICS,
    DEPLOYMENT_NAMESPACE,
    ENDPOINT_METRICS,
    ENDPOINT_NAMESPACE,
    MetricDefinition,
)
from rollout.emulator.control.azure_monitor.query import History, Query, evaluate, grid, iso, parse_query
from rollout.emulator.control.workspace import Workspace
from rollout.emulator.errors import BadRequest, NotFound, ResourceNotFound
from rollout.emulator.state import EmulatorState

METRICS_SUFFIX = "/providers/Microsoft.Insights/metrics"
METRIC_TYPE = "Microsoft.Insights/metrics"
DEFINITIONS_SUFFIX = "/providers/Microsoft.Insights/metricDefinitions"
AGGREGATIONS = ("None", "Average", "Minimum", "Maximum", "Total", "Count")


class MonitorApi:
    """Azure Monitor metrics of one emulator's endpoints and deployments."""

    def __init__(
        self,
        state: EmulatorState,
        workspace: Workspace,
        history: History,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._workspace = workspace
        self._history = history
        self._clock = clock

    async def endpoint_metrics(self, request: Request) -> Response:
        """Azure Monitor metrics of an online endpoint (RequestsPerMinute, RequestLatency_P95, ...)."""
        name = self._endpoint_of(request)
        return self._answer(request, ENDPOINT_METRICS, ENDPOINT_NAMESPACE, name)

    async def deployment_metrics(self, request: Request) -> Response:
        """Azure Monitor metrics of a deployment (resource metrics by instance; not measured: empty)."""
        self._deployment_of(request)
        return self._answer(request, DEPLOYMENT_METRICS, DEPLOYMENT_NAMESPACE, "")

    async def endpoint_definitions(self, request: Request) -> Response:
        """The metrics Azure publishes on an online endpoint (`metricDefinitions`)."""
        self._endpoint_of(request)
        return _definitions(request, ENDPOINT_METRICS, ENDPOINT_NAMESPACE)

    async def deployment_definitions(self, request: Request) -> Response:
        """The metrics Azure publishes on a deployment (`metricDefinitions`)."""
        self._deployment_of(request)
        return _definitions(request, DEPLOYMENT_METRICS, DEPLOYMENT_NAMESPACE)

    def _endpoint_of(self, request: Request) -> str:
        """The name of the request's endpoint; Azure Monitor's 404 when there is none."""
        name = request.path_params["endpoint"]
        try:
            return self._state.get_endpoint(name).name
        except NotFound:
            raise self._not_found(f"onlineEndpoints/{name}") from None

    def _deployment_of(self, request: Request) -> None:
        """Azure Monitor's 404 unless the request's deployment exists."""
        params = request.path_params
        try:
            self._state.get_deployment(params["endpoint"], params["deployment"])
        except NotFound:
            raise self._not_found(
                f"onlineEndpoints/{params['endpoint']}/deployments/{params['deployment']}"
            ) from None

    def _answer(
        self, request: Request, catalogue: Sequence[MetricDefinition], namespace: str, endpoint: str
    ) -> Response:
        try:
            query = parse_query(request.query_params, catalogue, namespace, self._clock())
        except BadRequest as error:
            body = json.dumps({"code": error.code, "message": error.message}).encode()
            return Response(
                body, error.status, media_type="application/json", headers={"x-ms-error-code": error.code}
            )
        resource_id = request.url.path[: -len(METRICS_SUFFIX)]
        value = evaluate(query, self._history, endpoint)
        for entry in value:
            entry["id"] = f"{resource_id}{METRICS_SUFFIX}/{entry['name']['value']}"
            entry["type"] = METRIC_TYPE
        return JSONResponse(
            {
                "cost": _cost(query),
                "timespan": f"{iso(grid(query)[0])}/{iso(query.end)}",
                "interval": query.interval_text,
                "value": [_ordered(entry) for entry in value],
                "namespace": namespace,
                "resourceregion": self._workspace.location,
            }
        )

    def _not_found(self, relative: str) -> ResourceNotFound:
        return ResourceNotFound(
            f"The Resource 'Microsoft.MachineLearningServices/workspaces/{self._workspace.name}/{relative}' "
            f"under resource group '{self._workspace.resource_group}' was not found."
        )


def _definitions(request: Request, catalogue: Sequence[MetricDefinition], namespace: str) -> Response:
    """Azure Monitor's `metricDefinitions` list (api-version 2018-01-01): one entry per metric."""
    resource_id = request.url.path[: -len(DEFINITIONS_SUFFIX)]
    return JSONResponse(
        {
            "value": [
                {
                    "id": f"{resource_id}{DEFINITIONS_SUFFIX}/{metric.name}",
                    "resourceId": resource_id,
                    "namespace": namespace,
                    "name": {"value": metric.name, "localizedValue": metric.display_name},
                    "displayDescription": metric.description,
                    "isDimensionRequired": False,
                    "unit": metric.unit,
                    "primaryAggregationType": metric.primary_aggregation,
                    "supportedAggregationTypes": list(AGGREGATIONS),
                    "metricAvailabilities": [
                        {"timeGrain": "PT1M", "retention": "P93D"},
                        {"timeGrain": "PT1H", "retention": "P93D"},
                    ],
                    "dimensions": [{"value": d, "localizedValue": d} for d in metric.dimensions],
                }
                for metric in catalogue
            ]
        }
    )


def _cost(query: Query) -> int:
    return len(grid(query)) * len(query.metrics)


def _ordered(entry: dict[str, object]) -> dict[str, object]:
    keys = ("id", "type", "name", "displayDescription", "unit", "timeseries", "errorCode")
    return {key: entry[key] for key in keys if key in entry}
