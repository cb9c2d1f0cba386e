"""The Azure action each request of the emulator needs (rules, no HTTP).

Azure Resource Manager authorises a request by its resource type and method: the path's last
`providers/<namespace>` followed by its type segments (`workspaces/onlineEndpoints/deployments`),
then `read` for GET and HEAD, `write` for PUT and PATCH, `delete` for DELETE, and for a POST the
last segment as an action (`.../onlineEndpoints/listKeys/action`). Azure Storage authorises blob
requests by data actions on `.../containers/blobs`.
"""

from __future__ import annotations

from rollout.emulator.constants import RESOURCE_GROUP, STORAGE_ACCOUNT, SUBSCRIPTION_ID

_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
# A blob request's data action by the permission letter the SAS would need (r, w, d).
BLOB_DATA_ACTIONS = {"r": BLOBS + "/read", "w": BLOBS + "/write", "d": BLOBS + "/delete"}


def arm_action(method: str, path: str) -> str:
    """The action of an ARM request to `path` (a route template or a concrete path)."""
    segments = [part for part in path.split("/") if part]
    lowered = [part.lower() for part in segments]
    if "providers" not in lowered:
        raise ValueError(f"{path} names no resource provider")
    start = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace, rest = segments[start + 1], segments[start + 2 :]
    verb = method.upper()
    suffix = ""
    if verb == "POST":
        *rest, operation = rest
        suffix = f"/{operation}/action"
    elif verb in _VERBS:
        suffix = "/" + _VERBS[verb]
    else:
        raise ValueError(f"no Azure action for {method}")
    return "/".join([namespace, *rest[0::2]]) + suffix


def request_scope(method: str, path: str) -> str:
    """The scope ARM names in a refusal: the resource the request addresses (a POST's resource,
    without its action's segment), from `/subscriptions/` on (the workspace's MLflow and artifact
    services put their own prefix before it)."""
    trimmed = path.rstrip("/")
    start = trimmed.lower().find("/subscriptions/")
    trimmed = trimmed[start:] if start > 0 else trimmed
    return trimmed.rpartition("/")[0] if method.upper() == "POST" else trimmed


def container_scope(container: str) -> str:
    """The ARM scope of a container of the emulator's storage account (where a data role is assigned)."""
    return (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Storage/"
        f"storageAccounts/{STORAGE_ACCOUNT}/blobServices/default/containers/{container}"
    )
