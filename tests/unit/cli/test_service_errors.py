"""Errors from services and the network end in one line, whatever command meets them."""

from __future__ import annotations

import httpx
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from rollout.cli import service_error


def test_service_and_network_errors_become_one_line() -> None:
    assert service_error(httpx.ConnectError("connection refused")) == "ConnectError: connection refused"
    assert (
        service_error(ServiceRequestError("no route\n  to host")) == "ServiceRequestError: no route to host"
    )
    assert service_error(HttpResponseError(message="Conflict")) == "HttpResponseError: Conflict"


def test_programming_errors_are_not_hidden() -> None:
    assert service_error(KeyError("x")) is None
    assert service_error(ValueError("bad")) is None
