"""Code and environment versions: Azure's rules (`assets`), the asset state and its persistence, and the
deployment rules a scoring script brings."""

from __future__ import annotations

import pytest

from rollout.emulator.asset_state import AssetState
from rollout.emulator.assets import (
    CODES,
    ENVIRONMENTS,
    CodeVersion,
    EnvironmentVersion,
    asset_reference,
    validate_asset_name,
)
from rollout.emulator.errors import BadArgument, Conflict, NotFound, ProvisioningUserError, ResourceNotFound
from rollout.emulator.resources import Deployment, validate_deployment_settings
from rollout.emulator.store import Store

WS = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/local"
CONDA = "name: scoring\ndependencies:\n  - python=3.11\n  - pip:\n      - azureml-inference-server-http\n"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"


def _code(name: str = "c0de", version: str = "1", content_hash: str = "abc", **changes) -> CodeVersion:
    fields = {
        "name": name,
        "version": version,
        "code_uri": "https://127.0.0.1:1/acct.blob.core.windows.net/upload-1/src",
        "container": "upload-1",
        "prefix": "src",
        "properties": {"hash_sha256": content_hash, "hash_version": "202208"},
        "is_anonymous": True,
        **changes,
    }
    return CodeVersion(**fields)


def _environment(version: str = "h1", **changes) -> EnvironmentVersion:
    fields = {
        "name": "CliV2AnonymousEnvironment",
        "version": version,
        "image": IMAGE,
        "conda_file": CONDA,
        "is_anonymous": True,
        **changes,
    }
    return EnvironmentVersion(**fields)


def test_asset_names_follow_azures_patterns():
    validate_asset_name(CODES, "0f3c-uuid_like", "1")
    validate_asset_name(ENVIRONMENTS, "AzureML-sklearn-1.0-ubuntu20.04", "3a9f")
    with pytest.raises(BadArgument, match=r"code name 'has\.dot' is invalid"):
        validate_asset_name(CODES, "has.dot", "1")
    with pytest.raises(BadArgument, match="environment name '-leading' is invalid"):
        validate_asset_name(ENVIRONMENTS, "-leading", "1")
    with pytest.raises(BadArgument, match="version 'a b' is invalid"):
        validate_asset_name(CODES, "ok", "a b")


def test_asset_references_are_arm_ids_of_the_workspace_or_short_ids():
    assert asset_reference(CODES, f"{WS}/codes/c0de/versions/1", "local") == ("c0de", "1")
    assert asset_reference(ENVIRONMENTS, "azureml:env:2", "local") == ("env", "2")
    with pytest.raises(BadArgument, match="in a registry"):
        asset_reference(ENVIRONMENTS, "azureml://registries/azureml/environments/sklearn/versions/1", "local")
    with pytest.raises(BadArgument, match="is not of the form"):
        asset_reference(CODES, f"{WS}/environments/e/versions/1", "local")  # an environment is no code
    with pytest.raises(BadArgument, match="is not of the form"):
        asset_reference(CODES, f"{WS.replace('local', 'other')}/codes/c/versions/1", "local")


def test_a_code_version_keeps_its_path_and_is_found_by_its_content_hash():
    clock = iter(range(100, 200))
    assets = AssetState(clock=lambda: next(clock))
    stored, created = assets.put_code(_code())
    assert created and (stored.created_at, stored.modified_at) == (100, 100)
    again, created = assets.put_code(_code(description="same folder", is_anonymous=False))
    assert not created and again.description == "same folder"
    assert (again.created_at, again.modified_at, again.is_anonymous) == (100, 101, True)
    with pytest.raises(ProvisioningUserError, match=r"^Asset paths cannot be updated\.$"):
        assets.put_code(_code(code_uri="https://127.0.0.1:1/acct.blob.core.windows.net/other/src"))
    assets.put_code(_code(name="another", content_hash="def"))
    assert [c.name for c in assets.find_codes("abc", "202208")] == ["c0de"]
    assert [c.name for c in assets.find_codes("abc")] == ["c0de"]
    assert assets.find_codes("abc", "199901") == []
    assert assets.find_codes("nothing") == []
    with pytest.raises(NotFound, match="Code version ghost:1 does not exist"):
        assets.get_code("ghost", "1")


def test_an_environment_version_cannot_change_what_it_installs():
    assets = AssetState()
    assets.put_environment(_environment())
    _, created = assets.put_environment(_environment(conda_file=CONDA + "\n\n", tags={"team": "ml"}))
    assert not created  # the same conda file (trailing whitespace aside): tags may change
    assert assets.get_environment("CliV2AnonymousEnvironment", "h1").tags == {"team": "ml"}
    with pytest.raises(Conflict, match="its image, conda file would change"):
        assets.put_environment(_environment(image="python:3.11", conda_file="name: other\n"))
    with pytest.raises(BadArgument, match="either an image or a build context"):
        assets.put_environment(_environment(version="h2", image=None))
    with pytest.raises(BadArgument, match="either an image or a build context"):
        assets.put_environment(_environment(version="h2", build={"contextUri": "x"}))
    with pytest.raises(BadArgument, match="osType 'Plan9'"):
        assets.put_environment(_environment(version="h2", os_type="Plan9"))
    assets.put_environment(_environment(version="h3"))
    assert [e.version for e in assets.list_environments("CliV2AnonymousEnvironment")] == ["h3", "h1"]


def test_assets_survive_a_restart(tmp_path):
    store = Store(tmp_path)
    assets = AssetState(store)
    assets.put_code(_code())
    assets.put_environment(_environment())
    store.close()
    reopened = AssetState(Store(tmp_path))
    assert reopened.get_code("c0de", "1") == assets.get_code("c0de", "1")
    assert reopened.get_environment("CliV2AnonymousEnvironment", "h1").conda_file == CONDA
    assert [c.name for c in reopened.find_codes("abc")] == ["c0de"]


def test_a_deployment_names_existing_code_and_environment_versions():
    assets = AssetState()
    scripted = Deployment(
        endpoint="e",
        name="blue",
        model="",
        model_uri="",
        code_id=f"{WS}/codes/c0de/versions/1",
        scoring_script="score.py",
        environment=f"{WS}/environments/CliV2AnonymousEnvironment/versions/h1",
    )
    with pytest.raises(ResourceNotFound, match=r"code version c0de:1 .* was not found"):
        assets.check_deployment(scripted, "local")
    assets.put_code(_code())
    with pytest.raises(ResourceNotFound, match="environment version CliV2AnonymousEnvironment:h1"):
        assets.check_deployment(scripted, "local")
    assets.put_environment(_environment())
    assets.check_deployment(scripted, "local")
    packaged = Deployment(
        endpoint="e", name="p", model="", model_uri="models:/m/1", environment="x", package_model=True
    )
    assets.check_deployment(packaged, "local")  # a packaged model's environment is the package's


def test_a_scoring_script_needs_an_environment_but_no_model():
    scripted = Deployment(
        endpoint="e", name="blue", model="", model_uri="", code_id="c", scoring_script="s.py"
    )
    with pytest.raises(BadArgument, match="has a code_configuration but no environment"):
        validate_deployment_settings(scripted)
    scripted.environment = "azureml:env:1"
    validate_deployment_settings(scripted)
    with pytest.raises(BadArgument, match="names no model"):
        validate_deployment_settings(Deployment(endpoint="e", name="blue", model="", model_uri=""))
