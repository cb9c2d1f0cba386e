"""azureml-mlflow 1.60's artifact repository works under MLflow 3 once `azureml_artifacts` is installed."""

from __future__ import annotations

import pytest

from rollout.registry import azureml_artifacts

WORKSPACE_URI = (
    "azureml://westeurope.api.azureml.ms/mlflow/v2.0/subscriptions/00000000-0000-0000-0000-000000000000"
    "/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
)
ARTIFACT_URI = "azureml://artifacts/LocalUpload/241130T101500-abcd1234/model"


@pytest.fixture
def scheme_restored():
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry as registry

    before = registry._registry.get(azureml_artifacts.SCHEME)
    yield registry
    registry._registry[azureml_artifacts.SCHEME] = before
    azureml_artifacts._installed = False


def test_the_installed_builder_fails_under_mlflow_3(scheme_restored) -> None:
    if not azureml_artifacts.needed():
        pytest.skip("the installed azureml-mlflow takes MLflow 3's keywords already")
    scheme_restored._registry.pop(azureml_artifacts.SCHEME, None)
    scheme_restored.register_entrypoints()
    with pytest.raises(TypeError, match="unexpected keyword argument 'tracking_uri'"):
        scheme_restored.get_artifact_repository(ARTIFACT_URI, tracking_uri=WORKSPACE_URI)


def test_after_install_the_repository_is_built_in_the_workspace_of_the_tracking_uri(
    scheme_restored, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    from azureml.mlflow._client.artifact.local_artifact_client import LocalArtifactClient
    from azureml.mlflow._store.artifact.artifact_repo import AzureMLflowArtifactRepository

    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureCloud")  # a known cloud: no metadata to fetch
    global_uri = mlflow.get_tracking_uri()
    azureml_artifacts.install()
    azureml_artifacts.install()  # idempotent
    repository = scheme_restored.get_artifact_repository(ARTIFACT_URI, tracking_uri=WORKSPACE_URI)
    assert isinstance(repository, AzureMLflowArtifactRepository)
    client = repository.artifacts
    assert isinstance(client, LocalArtifactClient)
    assert (client._origin, client._container, client.path) == (
        "LocalUpload",
        "241130T101500-abcd1234",
        "model",
    )
    assert client._service_context.workspace_name == "ws"
    assert mlflow.get_tracking_uri() == global_uri  # the workspace was the global URI only meanwhile


def test_a_fixed_builder_is_left_alone(monkeypatch: pytest.MonkeyPatch, scheme_restored) -> None:
    import azureml.mlflow.entry_point_loaders as loaders

    def fixed(artifact_uri=None, tracking_uri=None, registry_uri=None):
        return None

    monkeypatch.setattr(loaders, "azureml_artifacts_builder", fixed)
    assert not azureml_artifacts.needed()
    before = scheme_restored._registry.get(azureml_artifacts.SCHEME)
    azureml_artifacts.install()
    assert scheme_restored._registry.get(azureml_artifacts.SCHEME) is before
