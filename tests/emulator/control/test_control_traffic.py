"""Traffic and mirror-traffic rules through the real MLClient: each violation answered with 400 and why."""

from __future__ import annotations

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint
from azure.core.exceptions import HttpResponseError

DEPLOYMENTS = ("one", "two", "three")


@pytest.fixture(scope="module")
def endpoint(ml_client, registered_models, unique_name):
    """An endpoint with three deployments. Their model version does not exist, so they fail at once
    without starting instances; traffic rules only need them to exist."""
    name = unique_name("traffic")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    for deployment in DEPLOYMENTS:
        with pytest.raises(HttpResponseError, match="was not found"):
            ml_client.online_deployments.begin_create_or_update(
                ManagedOnlineDeployment(
                    name=deployment,
                    endpoint_name=name,
                    model=f"azureml:{registered_models.heart}:96",
                    instance_type="Standard_DS3_v2",
                    instance_count=1,
                )
            ).result()
    yield name
    current = ml_client.online_endpoints.get(name)
    current.traffic, current.mirror_traffic = {}, {}
    ml_client.online_endpoints.begin_create_or_update(current).result()
    ml_client.online_endpoints.begin_delete(name).result()


def _put(ml_client, endpoint: str, traffic: dict[str, int], mirror: dict[str, int] | None = None):
    current = ml_client.online_endpoints.get(endpoint)
    current.traffic = traffic
    current.mirror_traffic = mirror or {}
    return ml_client.online_endpoints.begin_create_or_update(current).result()


@pytest.mark.parametrize(
    ("traffic", "mirror", "message"),
    [
        ({"one": 50, "two": 40}, None, "sums to 90 (one=50, two=40); it must sum to 0 or 100"),
        ({"one": 60, "two": 60}, None, "sums to 120 (one=60, two=60); it must sum to 0 or 100"),
        (
            {"one": 90, "ghost": 10},
            None,
            "Traffic names deployment 'ghost', which does not exist in endpoint",
        ),
        (
            {"one": 110, "two": -10},
            None,
            "The traffic of deployment 'one' is 110%; it must be between 0 and 100",
        ),
        ({"one": 100}, {"two": 60}, "Mirror traffic to deployment 'two' is 60%; it can be at most 50%"),
        ({"one": 100}, {"two": 10, "three": 10}, "names 2 deployments (two, three); at most one deployment"),
        (
            {"one": 90, "two": 10},
            {"two": 10},
            "Deployment 'two' takes 10% of the live traffic; a deployment with live traffic cannot also",
        ),
        ({"one": 100}, {"ghost": 10}, "Mirror traffic names deployment 'ghost', which does not exist"),
    ],
)
def test_traffic_rule_violations(ml_client, endpoint, traffic, mirror, message):
    with pytest.raises(HttpResponseError) as raised:
        _put(ml_client, endpoint, traffic, mirror)
    assert raised.value.status_code == 400
    assert raised.value.error.code == "BadArgument"
    assert message in raised.value.error.message


def test_valid_splits_and_the_full_put_pitfall(ml_client, endpoint):
    updated = _put(ml_client, endpoint, {"one": 90, "two": 10}, {"three": 50})
    assert (updated.traffic, updated.mirror_traffic) == ({"one": 90, "two": 10}, {"three": 50})
    current = ml_client.online_endpoints.get(endpoint)
    # The SDK fills in 0 for deployments without (live or mirror) traffic.
    assert (current.traffic, current.mirror_traffic) == ({"one": 90, "two": 10}, {"three": 50})

    _put(ml_client, endpoint, {"one": 0, "two": 100})
    assert ml_client.online_endpoints.get(endpoint).traffic == {"one": 0, "two": 100, "three": 0}

    # An endpoint object built fresh (as from YAML) carries no traffic: a full PUT wipes the split.
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=endpoint)).result()
    assert ml_client.online_endpoints.get(endpoint).traffic == {"one": 0, "two": 0, "three": 0}
