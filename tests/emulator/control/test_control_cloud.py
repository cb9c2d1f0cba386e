"""The emulator presented as an Azure cloud: its ARM cloud-metadata document, and the real
azure-ai-ml `MLClient(DefaultAzureCredential(), ...)` resolving the cloud from it and reaching the
emulator with a token from the (stand-in) Azure CLI."""

from __future__ import annotations

from cloud_support import az_calls, metadata_url, run_in_cloud
from rollout.emulator.constants import (
    CLOUD_METADATA_PATH,
    CLOUD_NAME,
    RESOURCE_GROUP,
    STORAGE_SUFFIX,
    SUBSCRIPTION_ID,
    WORKSPACE,
)


def test_metadata_lists_one_cloud_whose_resource_manager_is_the_emulator(emulator):
    with emulator.https() as http:
        reply = http.get(CLOUD_METADATA_PATH, params={"api-version": "2019-05-01"})  # no credentials
    assert reply.status_code == 200
    clouds = reply.json()
    assert isinstance(clouds, list) and len(clouds) == 1
    cloud = clouds[0]
    base = emulator.url + "/"
    assert cloud["name"] == CLOUD_NAME
    assert cloud["resourceManager"] == base
    assert cloud["portal"] == base
    assert cloud["authentication"]["loginEndpoint"] == base
    assert cloud["authentication"]["audiences"][0] == base
    assert cloud["suffixes"]["storage"] == STORAGE_SUFFIX
    for field in ("graph", "batch", "gallery", "media", "sqlManagement", "activeDirectoryDataLake"):
        assert cloud[field] == base
    for suffix in ("keyVaultDns", "sqlServerHostname", "acrLoginServer"):
        assert cloud["suffixes"][suffix]


def test_azure_clients_resolve_the_cloud_and_reach_the_emulator(emulator, tmp_path):
    """azure-ai-ml and azureml-mlflow parse the document; MLClient(DefaultAzureCredential()) with no
    cloud= lists endpoints through the Azure CLI credential."""
    code = f"""
        import json
        from azure.ai.ml import MLClient
        from azure.ai.ml._azure_environments import _get_default_cloud_name, _get_cloud
        from azure.identity import DefaultAzureCredential
        from azureml.mlflow._common._cloud.cloud import _get_cloud_or_default

        credential = DefaultAzureCredential()
        ml = MLClient(credential, "{SUBSCRIPTION_ID}", "{RESOURCE_GROUP}", "{WORKSPACE}")
        names = [e.name for e in ml.online_endpoints.list()]
        cloud = _get_cloud(_get_default_cloud_name())
        mlflow_cloud = _get_cloud_or_default()
        print(json.dumps({{
            "cloud": ml._cloud,
            "base_url": ml._base_url,
            "scopes": list(ml._service_client_10_2023._config.credential_scopes),
            "listed": isinstance(names, list),
            "credential": type(credential._successful_credential).__name__,
            "storage": cloud.get("storage_endpoint"),
            "mlflow_cloud": mlflow_cloud.name,
            "mlflow_scope": mlflow_cloud._get_default_scope(),
        }}))
    """
    seen = run_in_cloud(emulator.url, emulator.ca_file, emulator.state_dir, tmp_path, code)
    assert seen["cloud"] == CLOUD_NAME
    assert seen["base_url"] == emulator.url
    assert seen["scopes"] == [f"{emulator.url}/.default"]
    assert seen["listed"] is True
    assert seen["credential"] == "AzureCliCredential"
    assert seen["storage"] == STORAGE_SUFFIX
    assert seen["mlflow_cloud"] == CLOUD_NAME
    assert seen["mlflow_scope"] == f"{emulator.url}/.default"
    calls = az_calls(tmp_path)
    assert calls and all(call[:2] == ["account", "get-access-token"] for call in calls)
    assert ["--resource", emulator.url] == calls[0][-2:]
    assert metadata_url(emulator.url).startswith(emulator.url)


def test_target_check_signs_in_through_the_azure_cli_of_the_active_cloud(emulator, tmp_path):
    """`rollout target check --target azure` (what the workflows run right after azure/login) asks the
    Azure CLI for the resolved cloud's resource-manager token, not a public-cloud host."""
    code = f"""
        import subprocess, sys
        done = subprocess.run(
            [sys.executable, "-m", "rollout", "target", "check", "--target", "azure", "--json",
             "--subscription", "{SUBSCRIPTION_ID}", "--resource-group", "{RESOURCE_GROUP}",
             "--workspace", "{WORKSPACE}"],
            capture_output=True, text=True,
        )
        sys.stderr.write(done.stderr)
        print(done.stdout.replace("\\n", " ") if done.returncode == 0 else "null")
    """
    access = run_in_cloud(emulator.url, emulator.ca_file, emulator.state_dir, tmp_path, code)
    assert access is not None
    assert access["target"] == "azure"
    assert access["location"] == f"cloud {CLOUD_NAME} ({emulator.url})"
    assert access["workspace"] == WORKSPACE
    assert 55 <= access["token_minutes_left"] <= 60
    calls = az_calls(tmp_path)
    assert calls and all(call[-2:] == ["--resource", emulator.url] for call in calls), calls
