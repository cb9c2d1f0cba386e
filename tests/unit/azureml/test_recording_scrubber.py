"""The scrubber: no key, token, signature or id of an exchange survives it; ids get stable placeholders."""

from __future__ import annotations

import json
import string
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.azureml.recording.exchanges import Exchange, Message
from rollout.azureml.recording.scrubber import PLACEHOLDER_PREFIX, SCRUBBED, Scrubber, placeholder

SECRETS = st.text(alphabet=string.ascii_letters + string.digits + "+/=_-", min_size=16, max_size=60)
GUIDS = st.uuids().map(str)


def exchange(
    path: str = "/",
    query: str = "",
    request: Message | None = None,
    response: Message | None = None,
) -> Exchange:
    return Exchange(
        seq=1,
        time="2026-01-01T00:00:00.000000+00:00",
        pid=1,
        client="arm",
        method="POST",
        host="https://management.azure.com",
        path=path,
        query=query,
        status=200,
        request=request or Message(),
        response=response or Message(),
    )


def written(scrubbed: Exchange) -> str:
    return scrubbed.to_line()


@settings(max_examples=40)
@given(key=SECRETS, token=SECRETS, subscription=GUIDS)
def test_keys_and_tokens_in_headers_and_fields_are_scrubbed_everywhere(
    key: str, token: str, subscription: str
) -> None:
    scrubber = Scrubber("salt")
    keys = exchange(
        path=f"/subscriptions/{subscription}/resourceGroups/rg/providers/x/onlineEndpoints/e/listKeys",
        request=Message(headers={"Authorization": f"Bearer {token}"}),
        response=Message(
            body={"primaryKey": key, "secondaryKey": key[::-1], "nested": [{"accessToken": token}]}
        ),
    )
    echoed = exchange(  # a later exchange that shows the key where no rule would find it
        request=Message(headers={"x-custom": f"k={key}"}),
        response=Message(text=f"the key {key} was refused"),
    )
    lines = written(scrubber.scrub(keys)) + written(scrubber.scrub(echoed))
    for secret in (key, key[::-1], token, subscription):
        assert secret not in lines
    assert json.loads(written(scrubber.scrub(keys)))["request"]["headers"]["Authorization"] == SCRUBBED


@settings(max_examples=40)
@given(signature=SECRETS.filter(lambda s: "&" not in s), jwt_body=SECRETS)
def test_sas_signatures_and_jwts_are_scrubbed_in_urls_and_text(signature: str, jwt_body: str) -> None:
    jwt = f"eyJhbGciOiJSUzI1NiJ9.{jwt_body.replace('+', 'a').replace('/', 'b').replace('=', 'c')}.c2ln"
    sas = f"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig={signature}&se=2030"
    scrubbed = Scrubber("salt").scrub(
        exchange(
            query=f"sig={signature}&api-version=1",
            response=Message(body={"blobUri": sas, "message": f"token {jwt} expired"}),
        )
    )
    line = written(scrubbed)
    assert signature not in line and jwt not in line
    assert f"sig={SCRUBBED}" in scrubbed.query and "api-version=1" in scrubbed.query
    assert scrubbed.response.body["blobUri"].endswith(f"sig={SCRUBBED}&se=2030")


def test_connection_string_keys_are_scrubbed() -> None:
    text = (
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5;EndpointSuffix=core.windows.net"
    )
    scrubbed = Scrubber("salt").scrub(exchange(response=Message(text=text)))
    assert "c2VjcmV0a2V5" not in written(scrubbed) and "AccountName=a" in (scrubbed.response.text or "")


@settings(max_examples=40)
@given(first=GUIDS, second=GUIDS)
def test_the_same_id_always_gets_the_same_placeholder(first: str, second: str) -> None:
    scrubber, again = Scrubber("salt"), Scrubber("salt")  # two processes of one recording
    one = scrubber.scrub(
        exchange(path=f"/subscriptions/{first}/x", response=Message(body={"tenantId": first.upper()}))
    )
    other = again.scrub(exchange(path=f"/subscriptions/{first}/y/{second}"))
    mapped = placeholder(first, "salt")
    assert mapped.startswith(PLACEHOLDER_PREFIX) and uuid.UUID(mapped)  # still a GUID
    assert one.path == f"/subscriptions/{mapped}/x" and one.response.body == {"tenantId": mapped}
    assert other.path == f"/subscriptions/{mapped}/y/{placeholder(second, 'salt')}"
    assert (placeholder(second, "salt") == mapped) == (first.lower() == second.lower())
    assert Scrubber("salt").scrub(one) == one  # scrubbing twice changes nothing


def test_values_that_are_no_secrets_are_kept() -> None:
    body = {"authMode": "key", "properties": {"traffic": {"blue": 100}, "provisioningState": "Succeeded"}}
    scrubbed = Scrubber("salt").scrub(
        exchange(response=Message(headers={"content-type": "application/json"}, body=body))
    )
    assert scrubbed.response.body == body and scrubbed.response.headers == {
        "content-type": "application/json"
    }
