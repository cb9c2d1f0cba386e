"""Scoring calls with our own HTTPS client.

The SDK's `online_endpoints.invoke` keeps the `azureml-model-deployment` header in a class-level
dict, so a later call without a deployment still goes to the earlier one; every call here states
its own headers.
"""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from rollout.azureml.recording import recorder

DEPLOYMENT_HEADER = "azureml-model-deployment"


# the CA bundles azure-core (through requests) trusts instead of the default ones, in its order
REQUESTS_CA_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def tls_verify(verify: str | bool) -> ssl.SSLContext | bool:
    """httpx's `verify`: a CA file to trust (the emulator's), or True for the environment's CAs.

    With True, the scoring client trusts what the SDK's clients trust: httpx reads SSL_CERT_FILE
    (or SSL_CERT_DIR) itself; without those, REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE), which
    requests and so azure-core read, is honoured here; else certifi's CAs.
    """
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    if verify is True and not (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")):
        bundle = next((os.environ[name] for name in REQUESTS_CA_ENV if os.environ.get(name)), None)
        if bundle:
            return ssl.create_default_context(cafile=bundle)
    return verify


@dataclass
class Reply:
    status: int
    deployment: str | None
    body: Any
    text: str
    elapsed_ms: float
    request_id: str | None

    @property
    def ok(self) -> bool:
        return self.status == 200


class ScoringClient:
    """POSTs requests to an endpoint's scoring URI with its key or token (and GETs its swagger
    document, at the endpoint's `swaggerUri`, with the same credential)."""

    def __init__(
        self,
        scoring_uri: str,
        credential: str,
        verify: str | bool = True,
        timeout: float = 60,
        swagger_uri: str | None = None,
    ) -> None:
        self.scoring_uri = scoring_uri
        self.swagger_uri = swagger_uri
        self._client = httpx.Client(
            verify=tls_verify(verify),
            timeout=timeout,
            headers={"Authorization": f"Bearer {credential}", "Content-Type": "application/json"},
            event_hooks=recorder.httpx_hooks("scoring"),
        )

    def score(self, request: dict | str | bytes, deployment: str | None = None) -> Reply:
        content = json.dumps(request) if isinstance(request, dict) else request
        headers = {DEPLOYMENT_HEADER: deployment} if deployment else {}
        return _reply(self._client.post(self.scoring_uri, content=content, headers=headers))

    def swagger(self, deployment: str | None = None) -> Reply | None:
        """The OpenAPI 3 document (`?version=3`) the deployment's inference server makes of its
        scoring script's declared types; None when the endpoint has no swagger URI."""
        if not self.swagger_uri:
            return None
        headers = {DEPLOYMENT_HEADER: deployment} if deployment else {}
        return _reply(self._client.get(self.swagger_uri, params={"version": "3"}, headers=headers))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ScoringClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reply(response: httpx.Response) -> Reply:
    try:
        body = response.json()
    except ValueError:
        body = None
    return Reply(
        status=response.status_code,
        deployment=response.headers.get(DEPLOYMENT_HEADER),
        body=body,
        text=response.text,
        elapsed_ms=response.elapsed.total_seconds() * 1000,
        request_id=response.headers.get("x-request-id"),
    )
