"""The workspace's default datastore, as azure-ai-ml reads it (`datastores.get_default()`: `GET
.../datastores?isDefault=true`), and each datastore reply checked against Azure's published schema."""

from __future__ import annotations

import jsonschema
from azure.ai.ml.entities import AzureBlobDatastore

from arm_schemas import DATASTORE, ERROR, paginated
from rollout.emulator.constants import STORAGE_ACCOUNT, STORAGE_SUFFIX
from rollout.emulator.control.artifact_store import BLOB_CONTAINER

API = {"api-version": "2025-12-01"}


def conforms(body: object, schema: dict) -> None:
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())


def test_the_default_datastore_through_mlclient(emulator):
    ml = emulator.ml_client()
    default = ml.datastores.get_default()
    assert isinstance(default, AzureBlobDatastore)
    assert (default.name, default.account_name, default.container_name) == (
        "workspaceblobstore",
        STORAGE_ACCOUNT,
        BLOB_CONTAINER,
    )
    assert (default.endpoint, default.protocol) == (STORAGE_SUFFIX, "https")
    assert type(default.credentials).__name__ == "NoneCredentialConfiguration"  # identity-based access
    assert ml.datastores.get("workspaceblobstore").container_name == BLOB_CONTAINER
    assert [store.name for store in ml.datastores.list()] == ["workspaceblobstore"]
    assert ml.datastores.get_default(include_secrets=True).name == "workspaceblobstore"  # nothing to list


def test_datastore_replies_conform(emulator):
    datastores = f"{emulator.workspace_path}/datastores"
    with emulator.arm() as arm:
        listed = arm.get(datastores, params={**API, "isDefault": "true", "count": "30"})
        assert listed.status_code == 200
        conforms(listed.json(), paginated(DATASTORE))
        assert [store["name"] for store in listed.json()["value"]] == ["workspaceblobstore"]
        one = arm.get(f"{datastores}/WorkspaceBlobStore", params=API)
        assert one.status_code == 200
        conforms(one.json(), DATASTORE)
        assert one.json()["properties"]["isDefault"] is True
        assert arm.get(datastores, params={**API, "isDefault": "false"}).json() == {"value": []}
        assert arm.get(datastores, params={**API, "names": "other"}).json() == {"value": []}
        missing = arm.get(f"{datastores}/other", params=API)
        assert missing.status_code == 404
        conforms(missing.json(), ERROR)
