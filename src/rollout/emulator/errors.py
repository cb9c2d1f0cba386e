"""Azure's errors: one exception class per Azure error code, with the HTTP status it answers with.

Raise them anywhere (rules, handlers, the scoring route); each plane renders
them with `to_json` in Azure's error shape, `{"error": {"code": ..., "message": ...}}`, which the
control plane extends with `"details": []` as Azure Resource Manager does. An error may carry
extra reply headers (`headers`), such as the data plane's model-error headers.

No HTTP framework is imported here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar


class AzureError(Exception):
    """A request Azure would refuse: the HTTP status, Azure's error code and a message."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalServerError"

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    def to_json(self, *, details: bool = False) -> bytes:
        """Azure's error body; `details` adds the (empty) list Azure Resource Manager sends."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if details:
            error["details"] = []
        return json.dumps({"error": error}).encode()


# Both planes -------------------------------------------------------------------------------------


class InternalServerError(AzureError):
    """Something failed that the request could not have avoided (500)."""


class NotFound(AzureError):
    """The named resource or route does not exist (404)."""

    status = 404
    code = "NotFound"


# The control plane (Azure Resource Manager) ------------------------------------------------------


class MethodNotAllowed(AzureError):
    """A method the route does not support (405)."""

    status = 405
    code = "MethodNotAllowed"


class BadArgument(AzureError):
    """A request whose content breaks a rule (400)."""

    status = 400
    code = "BadArgument"


class Conflict(AzureError):
    """A request the resource's current state does not allow (409)."""

    status = 409
    code = "Conflict"


class AuthenticationFailed(AzureError):
    """No or a wrong management token (401)."""

    status = 401
    code = "AuthenticationFailed"


class AuthorizationFailed(AzureError):
    """An action outside the caller's roles (403), named with the client and the scope."""

    status = 403
    code = "AuthorizationFailed"


class AuthorizationPermissionMismatch(AzureError):
    """Azure Storage: a data action outside the caller's roles (403)."""

    status = 403
    code = "AuthorizationPermissionMismatch"


class MissingApiVersionParameter(AzureError):
    """A control-plane request without `api-version` (400)."""

    status = 400
    code = "MissingApiVersionParameter"


class SubscriptionNotFound(AzureError):
    """A subscription other than the emulated one (404)."""

    status = 404
    code = "SubscriptionNotFound"


class ResourceNotFound(AzureError):
    """A resource id that names no resource, such as the metrics of an unknown endpoint or the code
    or environment version a deployment names (404)."""

    status = 404
    code = "ResourceNotFound"


class ResourceGroupNotFound(AzureError):
    """A resource group other than the emulated one (404)."""

    status = 404
    code = "ResourceGroupNotFound"


class OutOfQuota(AzureError):
    """A change over one of Azure's endpoint limits or the instance (VM) quota (400)."""

    status = 400
    code = "OutOfQuota"


class InvalidRequestContent(AzureError):
    """A request body that is not a JSON object (400)."""

    status = 400
    code = "InvalidRequestContent"


# Outcomes of long-running operations -------------------------------------------------------------


class ProvisioningUserError(AzureError):
    """A request Azure ML refuses as the user's mistake (400): a deployment that cannot be provisioned
    as asked, such as an unknown model version, or a code version whose path would change."""

    status = 400
    code = "UserError"


class ResourceNotReady(AzureError):
    """A deployment whose instances never became ready (400): a no-code MLflow deployment whose
    model's packages could not be installed, or whose model could not be loaded."""

    status = 400
    code = "ResourceNotReady"


class ImageBuildFailure(AzureError):
    """A deployment whose environment could not be built into an image (400)."""

    status = 400
    code = "ImageBuildFailure"


class Canceled(AzureError):
    """An operation replaced by a newer change of the same resource (409)."""

    status = 409
    code = "Canceled"


# Blob storage (the workspace's artifacts) ----------------------------------------------------------


class BlobNotFound(AzureError):
    """A blob that does not exist (404)."""

    status = 404
    code = "BlobNotFound"


class ContainerNotFound(AzureError):
    """A blob container that does not exist (404)."""

    status = 404
    code = "ContainerNotFound"


class BlobAlreadyExists(AzureError):
    """An upload with `If-None-Match: *` of a blob that exists (409)."""

    status = 409
    code = "BlobAlreadyExists"


class Md5Mismatch(AzureError):
    """An upload whose Content-MD5 does not match its content (400)."""

    status = 400
    code = "Md5Mismatch"


class InvalidRange(AzureError):
    """A range outside the blob (416)."""

    status = 416
    code = "InvalidRange"


class MissingRequiredHeader(AzureError):
    """A blob upload without `x-ms-blob-type` (400)."""

    status = 400
    code = "MissingRequiredHeader"


# Blob leases (Azure Storage's "Lease Blob"; rules in control/blob_leases.py) ---------------------


class InvalidHeaderValue(AzureError):
    """A header out of its range or form, such as a lease duration outside 15 to 60 and not -1 (400);
    Azure Storage names the header and its value in the reply (`details`)."""

    status = 400
    code = "InvalidHeaderValue"

    def __init__(self, header: str, value: str) -> None:
        super().__init__("The value for one of the HTTP headers is not in the correct format.")
        self.details = {"HeaderName": header, "HeaderValue": value}


class LeaseAlreadyPresent(AzureError):
    """An acquire while another lease (or a lease under another id) holds the blob (409)."""

    status = 409
    code = "LeaseAlreadyPresent"


class LeaseIdMismatchWithLeaseOperation(AzureError):
    """A renew, change or release naming a lease id the blob's lease does not have (409)."""

    status = 409
    code = "LeaseIdMismatchWithLeaseOperation"


class LeaseNotPresentWithLeaseOperation(AzureError):
    """A change or break of a blob with no lease to act on (409)."""

    status = 409
    code = "LeaseNotPresentWithLeaseOperation"


class LeaseIsBrokenAndCannotBeRenewed(AzureError):
    """A renew of a lease that was broken, or is breaking (409)."""

    status = 409
    code = "LeaseIsBrokenAndCannotBeRenewed"


class LeaseIsBreakingAndCannotBeAcquired(AzureError):
    """An acquire, under the breaking lease's own id, before the break period ends (409)."""

    status = 409
    code = "LeaseIsBreakingAndCannotBeAcquired"


class LeaseIsBreakingAndCannotBeChanged(AzureError):
    """A change of a lease that is breaking (409)."""

    status = 409
    code = "LeaseIsBreakingAndCannotBeChanged"


class LeaseIdMissing(AzureError):
    """A write or delete of a leased blob without its lease id (412)."""

    status = 412
    code = "LeaseIdMissing"


class LeaseIdMismatchWithBlobOperation(AzureError):
    """A read, write or delete of a leased blob naming another lease id (412)."""

    status = 412
    code = "LeaseIdMismatchWithBlobOperation"


class LeaseNotPresentWithBlobOperation(AzureError):
    """A read, write or delete naming a lease id when the blob has no active lease (412)."""

    status = 412
    code = "LeaseNotPresentWithBlobOperation"


# The data plane (scoring) ------------------------------------------------------------------------


class EndpointNotFound(AzureError):
    """Scoring on an endpoint that does not exist (404)."""

    status = 404
    code = "EndpointNotFound"


class Unauthorized(AzureError):
    """Scoring without a current key or token (401)."""

    status = 401
    code = "Unauthorized"


class DeploymentNotFound(AzureError):
    """Scoring on a deployment that does not exist (404)."""

    status = 404
    code = "DeploymentNotFound"


class NoTraffic(AzureError):
    """Scoring on an endpoint where no deployment takes traffic (404)."""

    status = 404
    code = "NoTraffic"


class RequestTimeout(AzureError):
    """The deployment did not answer within its request timeout (408)."""

    status = 408
    code = "RequestTimeout"


class PayloadTooLarge(AzureError):
    """A request body over the size limit (413)."""

    status = 413
    code = "PayloadTooLarge"


class RequestContentTooLarge(AzureError):
    """A request body over Azure Resource Manager's 4 MB (413)."""

    status = 413
    code = "RequestContentTooLarge"


class RequestBodyTooLarge(AzureError):
    """A request body over Azure Storage's limit for one call (413)."""

    status = 413
    code = "RequestBodyTooLarge"


class UnsupportedMediaType(AzureError):
    """A request body that is not JSON (415)."""

    status = 415
    code = "UnsupportedMediaType"


class ModelError(AzureError):
    """The model failed on the request (424): its instance answered other than 200 or 400."""

    status = 424
    code = "ModelError"


class TooManyRequests(AzureError):
    """More requests pending on a deployment than it takes (429)."""

    status = 429
    code = "TooManyRequests"


class BadGateway(AzureError):
    """An instance broke the connection (502)."""

    status = 502
    code = "BadGateway"


class ServiceUnavailable(AzureError):
    """A deployment with no ready instance (503)."""

    status = 503
    code = "ServiceUnavailable"


# Azure Monitor's queries --------------------------------------------------------------------------


class BadRequest(AzureError):
    """A metrics query Azure Monitor refuses (400)."""

    status = 400
    code = "BadRequest"
