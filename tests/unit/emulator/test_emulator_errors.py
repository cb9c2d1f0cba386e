"""`rollout.emulator.errors`: one class per Azure error code, rendered in Azure's error shape."""

from __future__ import annotations

import json

from rollout.emulator import errors


def _error_classes() -> list[type[errors.AzureError]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.AzureError)
    ]


def test_each_class_is_named_for_its_azure_code():
    for error_class in _error_classes():
        if error_class is errors.AzureError:
            continue
        if error_class is errors.ProvisioningUserError:  # code UserError: that name is the engine's error
            assert error_class.code == "UserError"
            continue
        assert error_class.__name__ == error_class.code, error_class
        assert 400 <= error_class.status < 600, error_class


def test_codes_are_not_defined_twice_with_different_meanings():
    codes = [c.code for c in _error_classes() if c is not errors.AzureError]
    assert len(codes) == len(set(codes))


def test_the_control_plane_shape_has_details_and_the_data_plane_shape_has_not():
    error = errors.Conflict("Endpoint 'e' is being deleted.")
    assert json.loads(error.to_json(details=True)) == {
        "error": {"code": "Conflict", "message": "Endpoint 'e' is being deleted.", "details": []}
    }
    assert json.loads(error.to_json()) == {
        "error": {"code": "Conflict", "message": "Endpoint 'e' is being deleted."}
    }
    assert error.status == 409


def test_an_error_carries_its_extra_reply_headers():
    error = errors.ModelError("boom", headers={"ms-azureml-model-error-statuscode": "500"})
    assert error.status == 424
    assert error.headers == {"ms-azureml-model-error-statuscode": "500"}
