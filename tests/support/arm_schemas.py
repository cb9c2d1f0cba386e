"""JSON Schemas of Azure's replies for online endpoints and deployments, code and environment
versions and datastores, written for these tests from the published REST specification
(Microsoft.MachineLearningServices, api-version 2025-12-01): field names, types, enums, required
fields. Fields the service sets (read-only in the specification) are listed in READ_ONLY: a client
cannot set them, so the emulator must ignore them in requests.
"""

from __future__ import annotations

from typing import Any

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
PERCENT_MAP = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100}}
DURATION = {"type": "string", "pattern": r"^P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$"}

SYSTEM_DATA = {
    "type": "object",
    "properties": {
        "createdBy": STRING,
        "createdByType": {"enum": ["User", "Application", "ManagedIdentity", "Key"]},
        "createdAt": {"type": "string", "format": "date-time"},
        "lastModifiedBy": STRING,
        "lastModifiedByType": {"enum": ["User", "Application", "ManagedIdentity", "Key"]},
        "lastModifiedAt": {"type": "string", "format": "date-time"},
    },
}

IDENTITY = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned"]},
        "principalId": {"type": "string", "format": "uuid"},
        "tenantId": {"type": "string", "format": "uuid"},
        "userAssignedIdentities": {"type": "object"},
    },
}

SKU = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": STRING,
        "tier": {"enum": ["Free", "Basic", "Standard", "Premium"]},
        "size": STRING,
        "family": STRING,
        "capacity": {"type": "integer"},
    },
}


def proxy(properties: dict[str, Any], kind: str) -> dict[str, Any]:
    """A proxy ARM resource (id, name, type, systemData; no location) with these properties."""
    return {
        "type": "object",
        "required": ["id", "name", "type", "properties"],
        "properties": {
            "id": {"type": "string", "pattern": "^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"},
            "name": STRING,
            "type": {"const": f"Microsoft.MachineLearningServices/workspaces/{kind}"},
            "systemData": SYSTEM_DATA,
            "properties": properties,
        },
    }


def tracked(properties: dict[str, Any], kind: str) -> dict[str, Any]:
    """A tracked ARM resource (a proxy one with location, tags, kind, identity, sku) with these properties."""
    schema = proxy(properties, kind)
    schema["required"] = [*schema["required"], "location"]
    schema["properties"].update(
        {"location": STRING, "tags": STRING_MAP, "kind": STRING, "identity": IDENTITY, "sku": SKU}
    )
    return schema


ENDPOINT = tracked(
    {
        "type": "object",
        "required": ["authMode"],
        "properties": {
            "authMode": {"enum": ["AMLToken", "Key", "AADToken"]},
            "description": NULLABLE_STRING,
            "properties": STRING_MAP,
            "scoringUri": {"type": "string", "format": "uri"},
            "swaggerUri": {"type": "string", "format": "uri"},
            "compute": NULLABLE_STRING,
            "provisioningState": {
                "enum": ["Creating", "Deleting", "Succeeded", "Failed", "Updating", "Canceled"]
            },
            "publicNetworkAccess": {"enum": ["Enabled", "Disabled"]},
            "traffic": PERCENT_MAP,
            "mirrorTraffic": PERCENT_MAP,
        },
    },
    "onlineEndpoints",
)

PROBE = {
    "type": "object",
    "properties": {
        "failureThreshold": {"type": "integer"},
        "successThreshold": {"type": "integer"},
        "timeout": DURATION,
        "period": DURATION,
        "initialDelay": DURATION,
    },
}

DEPLOYMENT = tracked(
    {
        "type": "object",
        "required": ["endpointComputeType"],
        "properties": {
            "endpointComputeType": {"enum": ["Managed", "Kubernetes", "AzureMLCompute"]},
            "codeConfiguration": {
                "type": ["object", "null"],
                "required": ["scoringScript"],
                "properties": {"codeId": STRING, "scoringScript": STRING},
            },
            "description": NULLABLE_STRING,
            "environmentId": NULLABLE_STRING,
            "environmentVariables": STRING_MAP,
            "properties": STRING_MAP,
            "appInsightsEnabled": {"type": "boolean"},
            "egressPublicNetworkAccess": {"enum": ["Enabled", "Disabled"]},
            "instanceType": STRING,
            "livenessProbe": PROBE,
            "readinessProbe": PROBE,
            "model": NULLABLE_STRING,
            "modelMountPath": NULLABLE_STRING,
            "provisioningState": {
                "enum": ["Creating", "Deleting", "Scaling", "Updating", "Succeeded", "Failed", "Canceled"]
            },
            "requestSettings": {
                "type": "object",
                "properties": {
                    "maxConcurrentRequestsPerInstance": {"type": "integer"},
                    "maxQueueWait": DURATION,
                    "requestTimeout": DURATION,
                },
            },
            "scaleSettings": {
                "type": "object",
                "required": ["scaleType"],
                "properties": {"scaleType": {"enum": ["Default", "TargetUtilization"]}},
            },
        },
    },
    "onlineEndpoints/deployments",
)


ASSET_PROVISIONING_STATES = ["Succeeded", "Failed", "Canceled", "Creating", "Updating", "Deleting"]
ASSET_BASE = {  # AssetBase: ResourceBase (description, properties, tags) and anonymity, archiving
    "description": NULLABLE_STRING,
    "properties": STRING_MAP,
    "tags": STRING_MAP,
    "isAnonymous": {"type": "boolean"},
    "isArchived": {"type": "boolean"},
}

CODE_VERSION = proxy(
    {
        "type": "object",
        "properties": {
            **ASSET_BASE,
            "codeUri": {"type": ["string", "null"], "format": "uri"},
            "provisioningState": {"enum": ASSET_PROVISIONING_STATES},
        },
    },
    "codes/versions",
)

ENVIRONMENT_VERSION = proxy(
    {
        "type": "object",
        "properties": {
            **ASSET_BASE,
            "autoRebuild": {"enum": ["Disabled", "OnBaseImageUpdate"]},
            "build": {
                "type": "object",
                "required": ["contextUri"],
                "properties": {"contextUri": STRING, "dockerfilePath": STRING},
            },
            "condaFile": NULLABLE_STRING,
            "environmentType": {"enum": ["Curated", "UserCreated"]},
            "image": NULLABLE_STRING,
            "inferenceConfig": {
                "type": "object",
                "properties": {
                    "livenessRoute": {"type": "object"},
                    "readinessRoute": {"type": "object"},
                    "scoringRoute": {"type": "object"},
                },
            },
            "osType": {"enum": ["Linux", "Windows"]},
            "provisioningState": {"enum": ASSET_PROVISIONING_STATES},
            "stage": NULLABLE_STRING,
        },
    },
    "environments/versions",
)

PENDING_UPLOAD = {
    "type": "object",
    "properties": {
        "blobReferenceForConsumption": {
            "type": "object",
            "properties": {
                "blobUri": {"type": "string", "format": "uri"},
                "storageAccountArmId": STRING,
                "credential": {
                    "type": "object",
                    "required": ["credentialType"],
                    "properties": {
                        "credentialType": {"enum": ["SAS"]},
                        "sasUri": {"type": "string", "format": "uri"},
                    },
                },
            },
        },
        "pendingUploadId": STRING,
        "pendingUploadType": {"enum": ["None", "TemporaryBlobReference"]},
    },
}


DATASTORE = proxy(  # DatastoreResource with AzureBlobDatastore properties (credentials: None here)
    {
        "type": "object",
        "required": ["credentials", "datastoreType"],
        "properties": {
            "description": NULLABLE_STRING,  # ResourceBase
            "properties": STRING_MAP,
            "tags": STRING_MAP,
            "isDefault": {"type": "boolean"},
            "credentials": {
                "type": "object",
                "required": ["credentialsType"],
                "properties": {
                    "credentialsType": {
                        "enum": ["AccountKey", "Certificate", "None", "Sas", "ServicePrincipal"]
                    }
                },
            },
            "datastoreType": {"enum": ["AzureBlob", "AzureDataLakeGen1", "AzureDataLakeGen2", "AzureFile"]},
            "accountName": STRING,
            "containerName": STRING,
            "endpoint": STRING,
            "protocol": STRING,
            "serviceDataAccessAuthIdentity": {
                "enum": ["None", "WorkspaceSystemAssignedIdentity", "WorkspaceUserAssignedIdentity"]
            },
            "subscriptionId": STRING,
            "resourceGroup": STRING,
        },
    },
    "datastores",
)


def paginated(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["value"],
        "properties": {"value": {"type": "array", "items": item}, "nextLink": NULLABLE_STRING},
    }


SKU_RESOURCE = {
    "type": "object",
    "properties": {
        "resourceType": STRING,
        "sku": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": STRING, "tier": {"enum": ["Free", "Basic", "Standard", "Premium"]}},
        },
        "capacity": {
            "type": "object",
            "properties": {
                "minimum": {"type": "integer"},
                "maximum": {"type": "integer"},
                "default": {"type": "integer"},
                "scaleType": {"enum": ["Automatic", "Manual", "None"]},
            },
        },
    },
}

KEYS = {"type": "object", "properties": {"primaryKey": STRING, "secondaryKey": STRING}}
TOKEN = {
    "type": "object",
    "properties": {
        "accessToken": STRING,
        "expiryTimeUtc": {"type": "integer"},
        "refreshAfterTimeUtc": {"type": "integer"},
        "tokenType": STRING,
    },
}
LOGS = {"type": "object", "properties": {"content": STRING}}

OPERATION_STATUS = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "id": STRING,
        "name": STRING,
        "status": STRING,
        "percentComplete": {"type": "number", "minimum": 0, "maximum": 100},
        "startTime": {"type": "string", "format": "date-time"},
        "endTime": {"type": "string", "format": "date-time"},
        "error": {"type": "object", "required": ["code", "message"]},
    },
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": STRING, "message": STRING, "details": {"type": "array"}},
        }
    },
}

# `GET .../locations/{location}/usages` and `.../vmSizes` (Usage and VirtualMachineSize): no other field.
USAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["unit", "currentValue", "limit", "name"],
    "properties": {
        "id": STRING,
        "amlWorkspaceLocation": STRING,
        "type": STRING,
        "unit": {"enum": ["Count"]},
        "currentValue": {"type": "integer"},
        "limit": {"type": "integer"},
        "name": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"value": STRING, "localizedValue": STRING},
        },
    },
}
VM_SIZE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "family", "vCPUs"],
    "properties": {
        "name": STRING,
        "family": STRING,
        "vCPUs": {"type": "integer"},
        "gpus": {"type": "integer"},
        "osVhdSizeMB": {"type": "integer"},
        "maxResourceVolumeMB": {"type": "integer"},
        "memoryGB": {"type": "number"},
        "lowPriorityCapable": {"type": "boolean"},
        "premiumIO": {"type": "boolean"},
        "estimatedVMPrices": {"type": "object"},
        "supportedComputeTypes": {"type": "array", "items": STRING},
    },
}

# Set by the service (readOnly in the specification), per resource: top level and in properties.
READ_ONLY = {
    "endpoint": (("id", "name", "type", "systemData"), ("provisioningState", "scoringUri", "swaggerUri")),
    "deployment": (("id", "name", "type", "systemData"), ("provisioningState",)),
}
