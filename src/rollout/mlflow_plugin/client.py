"""The `rollout` deployments target: MLflow's `BaseDeploymentClient` on the local emulator.

It takes the calls, config-file keys and errors of azureml-mlflow's client (the Azure article's
MLflow path) and carries them out through the project's azure-ai-ml path: endpoints are changed by
GET, change, PUT and confirmed; deployments are provisioned and waited for; scoring goes through
the project's own HTTPS client. Every call blocks until the change took effect (`async` in a
config file is accepted and ignored). The emulator is started on first use, as the CLI does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlflow.deployments import BaseDeploymentClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

from rollout.azureml import deployments, endpoints
from rollout.azureml.sdk import sdk_polling_muted
from rollout.core.errors import UserError
from rollout.mlflow_plugin import config_files, location, model_uris, predictions, shapes, specs

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import ManagedOnlineDeployment, OnlineEndpoint

    from rollout.azureml.connection import Connection

_logger = logging.getLogger(__name__)

SUPPORTED_FLAVOR = "python_function"


@contextlib.contextmanager
def _mlflow_errors() -> Iterator[None]:
    """The project's user errors as MlflowException, the error MLflow's callers expect."""
    try:
        yield
    except UserError as error:
        raise MlflowException(str(error)) from error


class RolloutDeploymentClient(BaseDeploymentClient):
    """Endpoints and deployments on the local emulator, for `get_deploy_client("rollout://local")`."""

    def __init__(self, target_uri: str) -> None:
        super().__init__(target_uri)
        location.check_uri(target_uri)
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The connection to the emulator (started on first use)."""
        from rollout.azureml.connection import Connection

        if self._connection is None:
            with _mlflow_errors():
                self._connection = Connection(location.local_target(self.target_uri, start=True))
        return self._connection

    @property
    def ml(self) -> MLClient:
        with _mlflow_errors():
            return self.connection.ml

    # Deployments ------------------------------------------------------------------------------

    def create_deployment(
        self,
        name: str,
        model_uri: str,
        flavor: str | None = None,
        config: dict[str, Any] | None = None,
        endpoint: str | None = None,
    ) -> dict[str, Any]:
        """Deploy `model_uri` as deployment `name` of `endpoint`, blocking until it is ready. The
        deployment takes no traffic until `update_endpoint` gives it some. Without `endpoint`, an
        endpoint called `name` is created and all its traffic goes to the deployment."""
        if flavor and flavor != SUPPORTED_FLAVOR:
            raise MlflowException(
                f"Unable to use {flavor} model flavor, AML currently only supports python_function."
            )
        model = model_uris.resolve(model_uri, name, location.registry_uri(self.target_uri))
        deploy_config = config_files.deploy_config_for_create(config)
        endpoint_name = endpoint or name
        with _mlflow_errors():
            if not endpoint and not endpoints.endpoint_exists(self.ml, name):
                self.create_endpoint(name, None)
            spec = specs.deployment_spec(name, endpoint_name, model.azureml, deploy_config)
            created = deployments.provision_deployment(
                self.ml, spec, existing=self._find_deployment(name, endpoint_name)
            )
            if not endpoint:
                endpoints.set_traffic(self.ml, name, {name: 100})
        result = dict(shapes.deployment_dict(created))
        result["flavor"] = flavor or SUPPORTED_FLAVOR
        return result

    def update_deployment(
        self,
        name: str,
        model_uri: str | None = None,
        flavor: str | None = None,
        config: dict[str, Any] | None = None,
        endpoint: str | None = None,
    ) -> None:
        """Change deployment `name` of `endpoint` (default: the endpoint called `name`): a new
        model and/or the deploy config's settings; blocks until it is provisioned again."""
        deploy_config = config_files.deploy_config_for_update(config)  # its errors before any call
        endpoint_name = endpoint if endpoint is not None else name
        existing = self._find_deployment(name, endpoint_name)
        if existing is None:
            raise MlflowException(f"No deployment with name {name} found to update")
        if model_uri:
            model = model_uris.resolve(model_uri, name, location.registry_uri(self.target_uri))
        else:
            model = model_uris.from_arm_id(str(existing.model))
        spec = specs.deployment_spec(name, endpoint_name, model.azureml, deploy_config, existing)
        with _mlflow_errors():
            deployments.provision_deployment(self.ml, spec, existing=existing)

    def delete_deployment(
        self, name: str, config: dict[str, Any] | None = None, endpoint: str | None = None, **kwargs: Any
    ) -> None:
        """Delete deployment `name` of `endpoint` (default: the endpoint called `name`) after taking
        it out of the endpoint's traffic and mirror traffic; nothing to do if it does not exist.
        `delete_empty_endpoint=True` deletes the endpoint too."""
        endpoint_name = endpoint if endpoint is not None else name
        found = self._find_endpoint(endpoint_name)
        if found is None or self._find_deployment(name, endpoint_name) is None:
            _logger.info("No deployment with name %s found to delete", name)
            return
        with _mlflow_errors():
            if name in endpoints.live_traffic(found) or name in endpoints.mirror_traffic(found):
                self._update_endpoint(
                    endpoint_name,
                    config_files.EndpointConfig(
                        traffic={k: v for k, v in endpoints.live_traffic(found).items() if k != name},
                        mirror_traffic={
                            k: v for k, v in endpoints.mirror_traffic(found).items() if k != name
                        },
                    ),
                )
            deployments.delete_deployment(self.ml, name, endpoint_name)
        if kwargs.get("delete_empty_endpoint") is True:
            self.delete_endpoint(endpoint_name)

    def list_deployments(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """The deployments of `endpoint`, or of every endpoint (with its `endpointName`,
        `scoringUri` and `swaggerUri`)."""
        if endpoint:
            return [dict(shapes.deployment_dict(d)) for d in self.ml.online_deployments.list(endpoint)]
        listed: list[dict[str, Any]] = []
        for found in self.ml.online_endpoints.list():
            for deployment in self.ml.online_deployments.list(found.name):
                row = dict(shapes.deployment_dict(deployment))
                row.update(scoringUri=found.scoring_uri, swaggerUri=found.openapi_uri)
                listed.append(row)
        return listed

    def get_deployment(self, name: str, endpoint: str | None = None) -> dict[str, Any]:
        """Deployment `name` of `endpoint` (default: the endpoint called `name`)."""
        found = self._find_deployment(name, endpoint if endpoint is not None else name)
        if found is None:
            raise MlflowException(f"No deployment with name {name} found", error_code=RESOURCE_DOES_NOT_EXIST)
        return dict(shapes.deployment_dict(found))

    # Scoring ----------------------------------------------------------------------------------

    def predict(
        self,
        deployment_name: str | None = None,
        inputs: Any = None,
        endpoint: str | None = None,
        df: Any = None,
    ) -> Any:
        """Score `df` (the article's keyword) or `inputs` (MLflow's): one prediction per row, as a
        pandas DataFrame (a numpy array when the endpoint's swagger says numpy), as azureml-mlflow
        returns them. With `endpoint`, the endpoint's traffic picks the deployment unless
        `deployment_name` names one; without, the endpoint called `deployment_name` is scored."""
        data = df if df is not None else inputs
        if not deployment_name and not endpoint:
            raise MlflowException("Error, must provide one of deployment_name or endpoint")
        header = deployment_name if endpoint else None
        endpoint_name = endpoint or str(deployment_name)
        found = self._find_endpoint(endpoint_name)
        if found is None:
            if endpoint:
                raise MlflowException(
                    f"No endpoint with name {endpoint} found", error_code=RESOURCE_DOES_NOT_EXIST
                )
            raise MlflowException(f"No deployment with name {deployment_name} found to predict against")
        from rollout.azureml.scoring import tls_verify

        with _mlflow_errors():
            connection = self.connection
            credential = connection.scoring_credential(endpoint_name)
            with connection.scoring(endpoint_name) as scoring:
                reply = scoring.score(predictions.request_body(data), deployment=header)
        if not reply.ok:
            raise MlflowException(
                f"Failure during prediction:\nResponse Code: {reply.status}\n"
                f"Deployment: {reply.deployment}\nContent: {reply.text}"
            )
        output = predictions.output_format(found.openapi_uri, credential, tls_verify(connection.verify))
        return predictions.predictions(reply.body, output)

    # Endpoints --------------------------------------------------------------------------------

    def create_endpoint(self, name: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create endpoint `name` from the endpoint config file (without one: token auth and a
        system-assigned identity, as azureml-mlflow does); an existing endpoint keeps its traffic."""
        spec = specs.endpoint_spec(name, config_files.endpoint_config(config))
        with _mlflow_errors():
            endpoints.apply_endpoint(self.ml, spec)
        return self.get_endpoint(name)

    def update_endpoint(self, endpoint: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Change the endpoint's traffic, mirror traffic and tags from the endpoint config file
        (what azureml-mlflow's update changes), and confirm the change took effect."""
        if self._find_endpoint(endpoint) is None:
            raise MlflowException(f"No endpoint with name {endpoint} found to update")
        settings = config_files.endpoint_config(config) or config_files.EndpointConfig()
        with _mlflow_errors():
            self._update_endpoint(endpoint, settings)
        return self.get_endpoint(endpoint)

    def delete_endpoint(self, endpoint: str) -> None:
        """Delete the endpoint and its deployments; nothing to do if it does not exist."""
        if self._find_endpoint(endpoint) is None:
            _logger.info("No endpoint with name %s found to delete", endpoint)
            return
        with sdk_polling_muted():
            self.ml.online_endpoints.begin_delete(name=endpoint).result()

    def list_endpoints(self) -> list[dict[str, Any]]:
        return [dict(shapes.endpoint_dict(found)) for found in self.ml.online_endpoints.list()]

    def get_endpoint(self, endpoint: str) -> dict[str, Any]:
        found = self._find_endpoint(endpoint)
        if found is None:
            raise MlflowException(
                f"No endpoint with name {endpoint} found", error_code=RESOURCE_DOES_NOT_EXIST
            )
        return dict(shapes.endpoint_dict(found))

    # Helpers ----------------------------------------------------------------------------------

    def _update_endpoint(self, name: str, settings: config_files.EndpointConfig) -> OnlineEndpoint:
        def change(current: OnlineEndpoint) -> None:
            specs.apply_endpoint_update(current, settings)

        def confirm(updated: OnlineEndpoint) -> bool:
            wanted = [
                (settings.traffic, endpoints.live_traffic(updated)),
                (settings.mirror_traffic, endpoints.mirror_traffic(updated)),
            ]
            if any(
                given is not None and {k: v for k, v in given.items() if v} != now for given, now in wanted
            ):
                return False
            return settings.tags is None or dict(updated.tags or {}) == settings.tags

        return endpoints.update_endpoint(self.ml, name, change, confirm)

    def _find_endpoint(self, name: str) -> OnlineEndpoint | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.ml.online_endpoints.get(name)
        except ResourceNotFoundError:
            return None

    def _find_deployment(self, name: str, endpoint: str) -> ManagedOnlineDeployment | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.ml.online_deployments.get(name, endpoint)
        except ResourceNotFoundError:
            return None
