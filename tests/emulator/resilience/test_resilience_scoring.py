"""Malformed scoring bodies, at scale, through the endpoint over HTTPS: never a 5xx, never a crash.

The cases issue #14 found are pinned as explicit examples; hypothesis then mutates the sample
request (cells, columns, index, shape, params) and sends raw bytes. Every reply is 200 with one
prediction per row, 400 with the reason, or 424 for a genuine model failure (the model raised);
afterwards the same instance process still answers a valid request.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from resilience_support import HeartEndpoint, sample_body, score, serving_pid

COLUMNS: list[str] = sample_body()["input_data"]["columns"]
ROW: list = sample_body()["input_data"]["data"][0]
AGE, OLDPEAK = COLUMNS.index("age"), COLUMNS.index("oldpeak")  # a long column and a double one


def frame(columns: list | None = None, data: list | None = None, **extra: object) -> dict:
    input_data: dict = {
        "columns": COLUMNS if columns is None else columns,
        "data": [ROW] if data is None else data,
    }
    return {"input_data": {**input_data, **extra}}


def row_with(position: int, value: object) -> list:
    row = list(ROW)
    row[position] = value
    return row


def deep(levels: int) -> bytes:
    return b'{"input_data": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.fixture(scope="module")
def heart(deploy_heart, unique_name) -> HeartEndpoint:
    return deploy_heart(unique_name("resilient"))


@pytest.fixture(scope="module")
def pid(ml_client, heart) -> int:
    return serving_pid(ml_client, heart)


def assert_still_serving(client, ml_client, heart: HeartEndpoint, pid: int) -> None:
    valid = score(client, heart, sample_body())
    assert valid.status_code == 200, valid.text
    assert valid.json() in ([0], [1])
    assert serving_pid(ml_client, heart) == pid, "the instance was restarted"


# The cases of the issue, decided ---------------------------------------------------------------

REFUSED = {
    "nested 10,000 levels": (deep(10_000), "nested too deeply"),
    "nested 100,000 levels, no object": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "index longer than data": (frame(index=[0, 1, 2]), "'index' has 3 labels for 1 rows"),
    "index shorter than data": (frame(data=[ROW, ROW], index=[0]), "'index' has 1 labels for 2 rows"),
    "a boolean for an integer column": (frame(data=[row_with(AGE, True)]), "column 'age' takes int64"),
    "1e308 for an integer column": (frame(data=[row_with(AGE, 1e308)]), "column 'age' takes int64"),
    "a fraction for an integer column": (frame(data=[row_with(AGE, 48.5)]), "column 'age' takes int64"),
    "an integer beyond 64 bits": (frame(data=[row_with(AGE, 10**30)]), "column 'age' takes int64"),
    "text for an integer column": (frame(data=[row_with(AGE, "48")]), "column 'age' takes int64"),
    "null for an integer column": (frame(data=[row_with(AGE, None)]), "column 'age' takes int64"),
    "a boolean for a float column": (
        frame(data=[row_with(OLDPEAK, False)]),
        "column 'oldpeak' takes float64",
    ),
    "text for a float column": (frame(data=[row_with(OLDPEAK, "x")]), "column 'oldpeak' takes float64"),
    "a column twice": (frame(columns=[*COLUMNS, "age"], data=[[*ROW, 1]]), "names a column more than once"),
    "a short row": (frame(data=[ROW[:-1]]), "Row 0 of 'data' has 12 values for 13 columns"),
    "no rows": (frame(data=[]), "'data' has no rows"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_the_issue_cases_that_do_not_fit_are_400(client, heart, case):
    body, reason = REFUSED[case]
    response = score(client, heart, body)
    assert response.status_code == 400, response.text
    assert reason in response.json()["error"]["message"]


ACCEPTED = {
    # NaN and infinities are doubles: MLflow's double type and Azure's scoring script pass them on.
    "NaN for a float column": (b'{"input_data": {"columns": %s, "data": [%s]}}', "NaN"),
    "-Infinity for a float column": (b'{"input_data": {"columns": %s, "data": [%s]}}', "-Infinity"),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_non_finite_floats_are_doubles_the_model_receives(client, heart, case):
    template, literal = ACCEPTED[case]
    cells = [json.dumps(value) for value in ROW]
    cells[OLDPEAK] = literal
    body = template % (json.dumps(COLUMNS).encode(), ("[" + ", ".join(cells) + "]").encode())
    response = score(client, heart, body)
    assert response.status_code == 200, response.text
    assert len(response.json()) == 1


def test_unknown_columns_are_ignored_as_mlflow_does_even_ten_thousand(client, ml_client, heart):
    extra = [f"extra_{number}" for number in range(10_000)]
    for names in (["unknown"], extra):
        body = frame(columns=[*COLUMNS, *names], data=[[*ROW, *range(len(names))]] * 2)
        response = score(client, heart, body)
        assert response.status_code == 200, response.text
        assert response.json() == score(client, heart, frame(data=[ROW, ROW])).json()
    logs = ml_client.online_deployments.get_logs("blue", heart.name, lines=50)
    assert "Ignored 10000 input column(s) the signature does not name: extra_0, extra_1" in logs


def test_an_index_as_long_as_data_gives_one_prediction_per_row(client, heart):
    response = score(client, heart, frame(data=[ROW, ROW, ROW], index=["a", "b", "c"]))
    assert response.status_code == 200
    assert len(response.json()) == 3


def test_the_instance_survives_the_issue_cases(client, ml_client, heart, pid):
    for body, _ in REFUSED.values():
        assert score(client, heart, body).status_code == 400
    assert_still_serving(client, ml_client, heart, pid)


# The fuzz --------------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["normal", "fixed", "reversible"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_bodies(draw: st.DrawFn) -> object:
    """The sample request with a few things changed: cells, columns, rows, index, keys, params."""
    rows = [list(ROW) for _ in range(draw(st.integers(0, 3)))]
    for row in rows:
        for _ in range(draw(st.integers(0, 2))):
            row[draw(st.integers(0, len(ROW) - 1))] = draw(VALUES)
    columns: object = list(COLUMNS)
    change = draw(st.sampled_from(["none", "drop", "add", "rename", "replace"]))
    if change == "drop":
        gone = draw(st.integers(0, len(COLUMNS) - 1))
        columns = [name for i, name in enumerate(COLUMNS) if i != gone]
        rows = [[cell for i, cell in enumerate(row) if i != gone] for row in rows]
    elif change == "add":
        columns = [*COLUMNS, draw(st.text(max_size=8))]
        rows = [[*row, draw(VALUES)] for row in rows]
    elif change == "rename":
        columns = [draw(st.text(max_size=8)) if i == 0 else name for i, name in enumerate(COLUMNS)]
    elif change == "replace":
        columns = draw(VALUES)
    input_data: dict = {"columns": columns, "data": rows}
    if draw(st.booleans()):
        input_data["index"] = draw(st.lists(SCALARS, max_size=5) | VALUES)
    if draw(st.integers(0, 9)) == 0:
        input_data[draw(st.text(max_size=6))] = draw(VALUES)
    if draw(st.integers(0, 4)) == 0:
        input_data["data"] = draw(VALUES)
    body: dict = {"input_data": input_data}
    if draw(st.booleans()):
        body["params"] = draw(VALUES)
    return body


BODIES = (
    mutated_bodies() | VALUES | st.dictionaries(st.sampled_from(["input_data", "params", "data"]), VALUES)
)


def encode(body: object) -> bytes:
    return json.dumps(body, allow_nan=True).encode()


def rows_sent(body: object) -> int | None:
    """The number of rows of a well-formed body, else None."""
    if isinstance(body, dict) and isinstance(body.get("input_data"), dict):
        data = body["input_data"].get("data")
        if isinstance(data, list):
            return len(data)
    return None


def check(response) -> None:
    assert response.status_code in (200, 400, 424), response.text
    assert response.headers["content-type"] == "application/json"
    if response.status_code != 200:
        error = response.json()["error"]
        assert error["code"] and error["message"]
    if response.status_code == 424:  # the model raised: not the emulator's own failure
        assert response.headers["ms-azureml-model-error-reason"] == "model_error", response.text


def test_malformed_bodies_never_get_a_5xx_and_the_instance_keeps_serving(client, ml_client, heart, pid):
    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=BODIES)
    @example(body=frame(data=[row_with(AGE, True)]))
    @example(body=frame(data=[row_with(OLDPEAK, math.nan)]))
    def fuzz(body: object) -> None:
        response = score(client, heart, encode(body))
        check(response)
        if response.status_code == 200:
            assert len(response.json()) == rows_sent(body), (body, response.text)

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(raw=st.binary(max_size=200) | st.builds(deep, st.integers(900, 3000)))
    def fuzz_bytes(raw: bytes) -> None:
        response = score(client, heart, raw)
        check(response)
        assert response.status_code != 200

    fuzz()
    fuzz_bytes()
    assert_still_serving(client, ml_client, heart, pid)
