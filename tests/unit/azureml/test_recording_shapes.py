"""Where a replayed answer differs from the recorded one: status, the headers that matter, shape."""

from __future__ import annotations

from rollout.azureml.recording.exchanges import Message
from rollout.azureml.recording.shapes import Difference, differences, shape_differences

ENDPOINT = {
    "id": "/x",
    "properties": {"traffic": {"blue": 100}, "scoringUri": "https://e/score", "keys": None},
}
JSON = {"content-type": "application/json; charset=utf-8", "x-ms-request-id": "1"}


def test_the_same_shape_with_other_values_is_no_difference() -> None:
    other = {
        "id": "/y",
        "properties": {"traffic": {"blue": 0}, "scoringUri": "https://f/score", "keys": None},
    }
    assert shape_differences(ENDPOINT, other) == []
    assert shape_differences([1, 2], [3.5]) == []  # numbers are numbers; an array's length is a value
    # a count per status code: its keys are values
    assert shape_differences({"codes": {"200": 3}}, {"codes": {"200": 1, "424": 2}}) == []
    assert shape_differences({"codes": {}}, {"codes": {"503": 1}}) == []
    assert shape_differences({"codes": {"200": 3}}, {"codes": {"200": "3"}}) == [
        Difference("body $.codes.*", "number", "string")
    ]
    assert differences(200, Message(JSON, ENDPOINT), 200, Message(dict(JSON), other)) == []


def test_a_missing_key_an_extra_key_and_a_changed_type_are_named_by_path() -> None:
    other = {"id": "/x", "properties": {"traffic": "blue=100", "keys": None, "mirrorTraffic": {}}}
    assert shape_differences(ENDPOINT, other) == [
        Difference("body $.properties.mirrorTraffic", "no such key", "object"),
        Difference("body $.properties.scoringUri", "string", "no such key"),
        Difference("body $.properties.traffic", "object", "string"),
    ]
    assert shape_differences({"a": [{"b": 1}]}, {"a": [{"b": "1"}]}) == [
        Difference("body $.a[0].b", "number", "string")
    ]


def test_status_headers_and_body_kinds() -> None:
    lro = {"azure-asyncoperation": "https://op", **JSON}
    found = differences(201, Message(lro, ENDPOINT), 200, Message({"content-type": "text/plain"}, text="ok"))
    assert [str(difference) for difference in found] == [
        "status: recorded 201, emulator 200",
        "header content-type: recorded application/json, emulator text/plain",
        "header azure-asyncoperation: recorded present, emulator absent",
        "header x-ms-request-id: recorded present, emulator absent",
        "body: recorded JSON object, emulator text",
    ]
    # a header outside the compared set, or a media type without a body on one side, is no difference
    assert (
        differences(202, Message({"x-other": "1"}), 202, Message({"content-type": "application/json"})) == []
    )
