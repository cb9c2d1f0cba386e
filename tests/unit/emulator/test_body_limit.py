"""The cap on request bodies: each service's own 413, for a declared or a chunked body."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from rollout.emulator.host import body_limit
from rollout.emulator.host.body_limit import BLOB_PREFIX, BodyLimit


async def length(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(body_limit, "ARM_BODY_BYTES", 100)
    monkeypatch.setattr(body_limit, "BLOB_BODY_BYTES", 200)
    app = Starlette(
        routes=[Route("/{path:path}", length, methods=["PUT", "POST"])], middleware=[Middleware(BodyLimit)]
    )
    return TestClient(app)


def test_a_body_within_its_cap_reaches_the_handler(client: TestClient) -> None:
    assert client.put("/subscriptions/s", content=b"x" * 100).text == "100"
    assert client.put(f"{BLOB_PREFIX}c/b", content=b"x" * 200).text == "200"
    assert client.post("/online-endpoints/ep/score", content=b"x" * 1000).text == "1000"  # its own cap


def test_a_blob_over_its_cap_gets_storages_xml_error(client: TestClient) -> None:
    refused = client.put(f"{BLOB_PREFIX}c/b", content=iter([b"x" * 150, b"x" * 150]))  # chunked
    assert refused.status_code == 413
    assert refused.headers["x-ms-error-code"] == "RequestBodyTooLarge"
    assert refused.headers["x-ms-max-limit"] == "200"
    assert "<Code>RequestBodyTooLarge</Code>" in refused.text


def test_an_arm_body_over_its_cap_gets_arms_json_error(client: TestClient) -> None:
    refused = client.put("/subscriptions/s", content=b"x" * 101)
    assert (refused.status_code, refused.json()["error"]["code"]) == (413, "RequestContentTooLarge")
