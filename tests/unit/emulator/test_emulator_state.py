"""Rules of `EmulatorState` that depend on time or persistence, checked without HTTP (a clock is injected)."""

from __future__ import annotations

import pytest

from rollout.emulator.errors import AzureError, NotFound
from rollout.emulator.resources import Deployment, EndpointSettings, parse_model_reference
from rollout.emulator.state import EmulatorState
from rollout.emulator.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_aml_tokens_expire():
    clock = Clock()
    state = EmulatorState(token_ttl=60, clock=clock)
    state.put_endpoint("scoring", EndpointSettings(auth_mode="aml_token"))
    token = state.issue_token("scoring")
    assert token.expiry_time_utc == int(clock.now + 60)
    assert state.check_credential("scoring", token.access_token)
    clock.now += 59
    assert state.check_credential("scoring", token.access_token)
    clock.now += 2
    assert not state.check_credential("scoring", token.access_token)
    assert state.check_credential("scoring", state.issue_token("scoring").access_token)


def test_tokens_and_keys_survive_a_restart_but_not_a_new_signing_key(tmp_path):
    first = EmulatorState(Store(tmp_path / "state"))
    first.put_endpoint("by-token", EndpointSettings(auth_mode="aml_token"))
    endpoint, _ = first.put_endpoint("by-key", EndpointSettings(auth_mode="key"))
    token = first.issue_token("by-token").access_token

    restored = EmulatorState(Store(tmp_path / "state"))
    assert restored.check_credential("by-token", token)
    assert restored.check_credential("by-key", endpoint.primary_key)
    assert restored.check_credential("by-key", endpoint.secondary_key)

    elsewhere = EmulatorState(Store(tmp_path / "other"))
    elsewhere.put_endpoint("by-token", EndpointSettings(auth_mode="aml_token"))
    assert not elsewhere.check_credential("by-token", token)


def test_regenerating_with_a_key_value_sets_that_value():
    state = EmulatorState()
    endpoint, _ = state.put_endpoint("keys")
    chosen = "A" * 32
    assert state.regenerate_key("keys", "Primary", chosen).primary_key == chosen
    # The SDK sends the current key as keyValue: that still yields a fresh key.
    regenerated = state.regenerate_key("keys", "Primary", chosen)
    assert regenerated.primary_key not in (chosen, endpoint.primary_key)
    with pytest.raises(AzureError, match="at least 16 letters and digits"):
        state.regenerate_key("keys", "Secondary", "short")
    with pytest.raises(AzureError, match="Key type 'Tertiary' is invalid"):
        state.regenerate_key("keys", "Tertiary")


def test_snapshots_do_not_change_the_state():
    state = EmulatorState()
    state.put_endpoint("snap")
    snapshot = state.get_endpoint("snap")
    snapshot.traffic["ghost"] = 100
    assert state.get_endpoint("snap").traffic == {}


def test_deleting_an_endpoint_forgets_its_deployments():
    state = EmulatorState()
    state.put_endpoint("gone")
    state.put_deployment(
        Deployment(endpoint="gone", name="blue", model="azureml:m:1", model_uri="models:/m/1")
    )
    state.begin_delete_endpoint("gone")
    assert state.get_deployment("gone", "blue").provisioning_state == "Deleting"
    state.remove_endpoint("gone")
    with pytest.raises(NotFound):
        state.list_deployments("gone")


def test_a_crash_half_way_through_a_change_of_several_rows_leaves_none_of_it(tmp_path, monkeypatch):
    state = EmulatorState(Store(tmp_path / "state"))
    state.put_endpoint("half")
    for slot in ("blue", "green"):
        state.put_deployment(
            Deployment(endpoint="half", name=slot, model="azureml:m:1", model_uri="models:/m/1")
        )
    before = {d.name: d.provisioning_state for d in state.list_deployments("half")}
    saved: list[str] = []
    save = Store.save_deployment

    def crash_on_the_second(store: Store, deployment: Deployment) -> None:
        saved.append(deployment.name)
        if len(saved) == 2:
            raise KeyboardInterrupt  # the process dies between two writes of one change
        save(store, deployment)

    monkeypatch.setattr(Store, "save_deployment", crash_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        state.begin_delete_endpoint("half")
    monkeypatch.undo()
    restored = EmulatorState(Store(tmp_path / "state"))  # the restart
    assert restored.get_endpoint("half").provisioning_state == "Succeeded"
    assert {d.name: d.provisioning_state for d in restored.list_deployments("half")} == before


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("azureml:heart-classifier:2", ("heart-classifier", "2")),
        (
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"
            "/models/heart-classifier/versions/2",
            ("heart-classifier", "2"),
        ),
        ("models:/heart-classifier/2", ("heart-classifier", "2")),
    ],
)
def test_model_references(reference, expected):
    assert parse_model_reference(reference) == expected


def test_registry_models_are_refused():
    with pytest.raises(AzureError, match="is in a registry"):
        parse_model_reference("azureml://registries/azureml/models/foo/versions/1")
