"""Helpers of the resilience tests: the demo heart classifier's endpoint, its sample request, scoring."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from chaos_support import instance_pid

SAMPLE = json.loads((Path(__file__).resolve().parents[2] / "samples" / "sample.json").read_text())


@dataclass(frozen=True)
class HeartEndpoint:
    """An endpoint whose deployment `blue` (all traffic) serves heart-classifier version 1."""

    name: str
    uri: str
    key: str


def sample_body() -> dict:
    """samples/sample.json, a fresh copy."""
    return json.loads(json.dumps(SAMPLE))


def serving_pid(ml_client, endpoint: HeartEndpoint) -> int:
    """The pid of the instance serving the endpoint's deployment, read from its logs."""
    return instance_pid(ml_client.online_deployments.get_logs("blue", endpoint.name, lines=10_000))


def score(
    client: httpx.Client, endpoint: HeartEndpoint, body: object, key: str | None = None
) -> httpx.Response:
    """POST a body (JSON value, or bytes as they are) to the endpoint's scoring URI."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key or endpoint.key}", "Content-Type": "application/json"}
    return client.post(endpoint.uri, content=content, headers=headers)
