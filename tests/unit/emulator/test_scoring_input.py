"""Scoring bodies to frames (rollout.emulator.instances.scoring_input) with real MLflow schemas.

The rules are checked against MLflow itself: a frame `parse` accepts passes MLflow's own signature
enforcement (`_enforce_schema`, what a pyfunc model's predict runs) unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.models.utils import _enforce_schema
from mlflow.types import ColSpec, Schema, TensorSpec

from rollout.emulator.errors import BadRequest
from rollout.emulator.instances.scoring_input import InputSpec, parse

SCHEMA = Schema(
    [
        ColSpec("long", "count"),
        ColSpec("integer", "small"),
        ColSpec("double", "ratio"),
        ColSpec("float", "narrow"),
        ColSpec("boolean", "flag"),
        ColSpec("string", "label"),
        ColSpec("binary", "blob"),
        ColSpec("long", "optional", required=False),
    ]
)
SPEC = InputSpec.from_schema(SCHEMA)
COLUMNS = ["count", "small", "ratio", "narrow", "flag", "label", "blob"]
ROW = [7, 3, 0.5, 1, True, "a", "aGk="]


def body(columns=COLUMNS, data=None, **extra) -> bytes:
    return json.dumps(
        {"input_data": {"columns": columns, "data": [ROW] if data is None else data, **extra}}
    ).encode()


def with_cell(column: str, value: object) -> list:
    row = list(ROW)
    row[COLUMNS.index(column)] = value
    return row


def test_the_spec_is_computed_once_from_the_signature():
    assert SPEC.columns == frozenset([*COLUMNS, "optional"])
    assert SPEC.dtypes == {
        "count": np.dtype("int64"),
        "small": np.dtype("int32"),
        "ratio": np.dtype("float64"),
        "narrow": np.dtype("float32"),
        "flag": np.dtype("bool"),
        "optional": np.dtype("int64"),
    }
    assert SPEC.other.input_names() == ["label", "blob"]
    assert InputSpec.from_schema(None) == InputSpec()
    tensor = Schema([TensorSpec(np.dtype("float32"), (-1, 2))])
    assert InputSpec.from_schema(tensor) == InputSpec(other=tensor)


def test_a_fitting_body_becomes_the_frame_mlflow_enforces_unchanged():
    parsed = parse(body(index=["r1"]), SPEC)
    frame = parsed.frame
    assert frame.dtypes.astype(str).to_dict() == {
        "count": "int64",
        "small": "int32",
        "ratio": "float64",
        "narrow": "float32",
        "flag": "bool",
        "label": "object",
        "blob": "object",
    }
    assert frame["blob"].iloc[0] == b"hi"  # base64 decoded by MLflow's helper
    assert list(frame.index) == ["r1"]
    assert _enforce_schema(frame, SCHEMA).equals(frame)
    assert parsed.params is None and parsed.ignored_columns == ()


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("count", True, "column 'count' takes int64 values; it has booleans"),
        ("count", 1.5, "column 'count' takes int64 values; it has fractions"),
        ("count", 1e308, "column 'count' takes int64 values; it has integers outside int64's range"),
        ("count", 2.0**63, "column 'count' takes int64 values; it has integers outside int64's range"),
        ("small", 2.0**31, "column 'small' takes int32 values; it has integers outside int32's range"),
        ("count", 2**64, "column 'count' takes int64 values; it has text, nulls, integers beyond 64 bits"),
        ("count", None, "column 'count' takes int64 values; it has text, nulls"),
        ("small", 2**31, "column 'small' takes int32 values; it has integers outside int32's range"),
        ("ratio", "0.5", "column 'ratio' takes float64 values; it has text"),
        ("ratio", False, "column 'ratio' takes float64 values; it has booleans"),
        ("flag", 1, "column 'flag' takes bool values; it has integers"),
        ("blob", "not base64!", "blob"),
    ],
)
def test_a_value_that_does_not_cast_safely_is_refused(column, value, reason):
    with pytest.raises(BadRequest) as refused:
        parse(body(data=[with_cell(column, value)]), SPEC)
    assert reason in refused.value.message


def test_integer_columns_take_whole_numbers_written_as_floats():
    frame = parse(body(data=[with_cell("count", 48.0), with_cell("small", -(2.0**31))]), SPEC).frame
    assert frame["count"].dtype == np.dtype("int64") and frame["count"].iloc[0] == 48
    assert frame["small"].dtype == np.dtype("int32") and frame["small"].iloc[1] == -(2**31)


def test_floats_take_integers_nan_infinity_and_null():
    rows = [with_cell("ratio", 2), with_cell("ratio", None), ROW]
    raw = body(data=rows).replace(b"0.5", b"NaN", 1)
    ratio = parse(raw, SPEC).frame["ratio"]
    assert ratio.dtype == np.dtype("float64")
    assert ratio.iloc[0] == 2.0 and ratio.iloc[1:].isna().all()
    infinite = parse(body(data=[with_cell("narrow", 1)]).replace(b"1, true", b"-Infinity, true"), SPEC).frame
    assert infinite["narrow"].iloc[0] == -np.inf


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"input_data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nested too deeply"),
        (b"{not json", "not valid JSON"),
        (b"[1]", "'input_data' field"),
        (json.dumps({"input_data": {"data": [ROW], "extra": 1}}).encode(), "split orientation"),
        (body(index=[0, 1]), "'index' has 2 labels for 1 rows"),
        (body(index=[[0]]), "'index' must be a list of labels"),
        (body(data=[ROW[:-1]]), "Row 0 of 'data' has 6 values for 7 columns"),
        (body(data=[ROW, 5]), "'data' must be a list of rows"),
        (body(columns=[*COLUMNS[:-1], "count"]), "names a column more than once: ['count']"),
        (body(columns=[*COLUMNS[:-1], None]), "'columns' must be a list of column names"),
        (body(data=[]), "'data' has no rows"),
        (json.dumps({"input_data": {"data": [[1], [1, 2]]}}).encode(), "different lengths"),
        (
            json.dumps({"input_data": {"data": [ROW]}, "params": [1]}).encode(),
            "'params' must be a JSON object",
        ),
    ],
)
def test_bodies_that_are_not_a_frame_are_refused_with_the_reason(raw, reason):
    with pytest.raises(BadRequest) as refused:
        parse(raw, SPEC)
    assert reason in refused.value.message


def test_unknown_columns_are_dropped_before_the_frame():
    extra = [f"x{number}" for number in range(10_000)]
    parsed = parse(body(columns=[*COLUMNS, *extra], data=[[*ROW, *range(10_000)]]), SPEC)
    assert list(parsed.frame.columns) == COLUMNS
    assert parsed.ignored_columns == tuple(extra)


def test_a_model_without_a_signature_gets_the_frame_as_sent():
    parsed = parse(body(columns=["a", "b"], data=[[1, "x"], [2.5, None]]), InputSpec())
    assert parsed.frame.to_dict(orient="list") == {"a": [1.0, 2.5], "b": ["x", None]}


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    cells=st.lists(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4), min_size=8, max_size=8
    )
)
def test_whatever_the_cells_parse_refuses_or_mlflow_accepts(cells):
    columns = [*COLUMNS, "optional"]
    try:
        frame = parse(json.dumps({"input_data": {"columns": columns, "data": [cells]}}).encode(), SPEC).frame
    except BadRequest:
        return
    enforced = _enforce_schema(frame, SCHEMA)
    assert list(enforced.columns) == columns
