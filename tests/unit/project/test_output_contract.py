"""The output contract: which replies conform, how agreement is counted, and the defaults a model's
output signature implies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlflow.models import Model, infer_signature
from pydantic import ValidationError

from rollout.project.output_contract import (
    OutputContract,
    Tolerance,
    agree,
    agreeing_rows,
    contract_from_signature,
    reply_problems,
    worst_rows,
)

LABELS = OutputContract(kind="labels", labels=[0, 1, 2])
NUMBERS = OutputContract(kind="numbers", min=0, max=400, tolerance=Tolerance(absolute=1, relative=0.1))
PROBABILITIES = OutputContract(kind="probabilities", classes=3)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def probability_vectors(draw: st.DrawFn, width: int = 3) -> list[float]:
    weights = draw(st.lists(st.floats(0.01, 1.0), min_size=width, max_size=width))
    return [w / sum(weights) for w in weights]


@given(st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=50))
def test_labels_from_the_set_conform(reply: list[int]) -> None:
    assert reply_problems(reply, len(reply), LABELS) == []


@given(st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=20), st.integers(3, 100))
def test_a_label_outside_the_set_is_named_with_its_row(reply: list[int], stray: int) -> None:
    broken = [*reply, stray]
    assert reply_problems(broken, len(broken), LABELS) == [
        f"row {len(reply)}: {stray} is not one of the labels [0, 1, 2]"
    ]


@given(st.lists(finite, min_size=1, max_size=30), st.integers(1, 5))
def test_one_prediction_per_row(reply: list[float], missing: int) -> None:
    rows = len(reply) + missing
    assert reply_problems(reply, rows, OutputContract(kind="numbers")) == [
        f"the reply has {len(reply)} predictions for {rows} rows"
    ]


@given(st.lists(st.floats(0, 400), min_size=1, max_size=30))
def test_numbers_in_range_conform_and_out_of_range_do_not(reply: list[float]) -> None:
    assert reply_problems(reply, len(reply), NUMBERS) == []
    assert reply_problems([*reply, 400.5], len(reply) + 1, NUMBERS) == [
        f"row {len(reply)}: 400.5 is above the maximum 400"
    ]


def test_numbers_must_be_finite_numbers() -> None:
    contract = OutputContract(kind="numbers")
    assert reply_problems([1.5, "2", True, [1.0, 2.0], math.inf], 5, contract) == [
        "row 1: '2' is not a finite number",
        "row 2: True is not a finite number",
        "row 3: [1.0, 2.0] is not a finite number",
        "row 4: inf is not a finite number",
    ]


def test_one_column_records_are_their_value() -> None:
    assert reply_problems([{"prediction": 3.5}, [2.0]], 2, OutputContract(kind="numbers")) == []


@given(st.lists(probability_vectors(), min_size=1, max_size=20))
def test_probability_vectors_conform_as_lists_or_records(reply: list[list[float]]) -> None:
    assert reply_problems(reply, len(reply), PROBABILITIES) == []
    records = [{str(i): p for i, p in enumerate(vector)} for vector in reply]
    assert reply_problems(records, len(records), PROBABILITIES) == []


@given(probability_vectors(width=2))
def test_a_vector_of_the_wrong_width_is_refused(vector: list[float]) -> None:
    [problem] = reply_problems([vector], 1, PROBABILITIES)
    assert problem.startswith("row 0: [") and problem.endswith("has 2 probabilities, not 3")


def test_vectors_must_be_probabilities() -> None:
    assert reply_problems([[0.5, 0.6, -0.1], [0.2, 0.2, 0.2], 1], 3, PROBABILITIES) == [
        "row 0: [0.5, 0.6, -0.1] has a probability outside 0..1",
        "row 1: [0.2, 0.2, 0.2] sums to 0.6, not 1",
        "row 2: 1 is not a vector of probabilities",
    ]


def test_a_reply_that_is_not_a_list() -> None:
    assert reply_problems({"error": "x"}, 1, LABELS) == [
        "the reply is {'error': 'x'}, not a list of predictions"
    ]


@given(st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=40), st.data())
def test_label_agreement_is_the_count_of_equal_labels(live: list[int], data: st.DataObject) -> None:
    candidate = data.draw(st.lists(st.sampled_from([0, 1, 2]), min_size=len(live), max_size=len(live)))
    assert agreeing_rows(candidate, live, LABELS) == sum(a == b for a, b in zip(candidate, live, strict=True))
    assert agreeing_rows(live, live, LABELS) == len(live)


@given(st.floats(0, 400), st.floats(-1, 1))
def test_numbers_agree_within_the_tolerance(value: float, shift: float) -> None:
    other = value + shift  # within the absolute tolerance of 1
    assert agree(value, other, NUMBERS) == (0 <= other <= 400)


@given(st.floats(50, 300))
def test_numbers_apart_by_more_than_the_tolerance_disagree(value: float) -> None:
    assert agree(value, value * 1.05, NUMBERS)  # within 10% of the larger
    assert not agree(value, value * 1.2 + 1, NUMBERS)


@given(probability_vectors(), probability_vectors())
def test_probabilities_agree_on_the_arg_max(a: list[float], b: list[float]) -> None:
    assert agree(a, b, PROBABILITIES) == (int(np.argmax(a)) == int(np.argmax(b)))


def test_a_prediction_that_breaks_the_contract_agrees_with_nothing() -> None:
    assert not agree(7, 7, LABELS)
    assert agreeing_rows([0, 1, 7], [0, 1, 7], LABELS) == 2
    assert agreeing_rows("oops", [0], LABELS) == 0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"kind": "labels", "min": 0}, "min does not apply to kind labels"),
        ({"kind": "numbers", "labels": [1]}, "labels does not apply to kind numbers"),
        ({"kind": "probabilities", "tolerance": {"absolute": 1}}, "tolerance does not apply"),
        ({"kind": "numbers", "min": 5, "max": 1}, "min 5 is greater than max 1"),
        ({"kind": "labels", "labels": [1, 1]}, "labels must not repeat"),
        ({"kind": "probabilities", "classes": 1}, "greater than or equal to 2"),
        ({"kind": "scores"}, "Input should be 'labels', 'numbers' or 'probabilities'"),
    ],
)
def test_the_plan_section_refuses_what_does_not_fit(section: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OutputContract.model_validate(section)


def _mlmodel(inputs: pd.DataFrame, outputs: object) -> Model:
    model = Model()
    model.signature = infer_signature(inputs, outputs)
    return model


FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0]})


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        (np.array([1.5, 2.5, 3.5]), OutputContract(kind="numbers")),
        (np.array([0, 1, 2]), OutputContract(kind="labels")),
        (pd.Series(["a", "b", "a"]), OutputContract(kind="labels")),
        (np.array([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]]), OutputContract(kind="probabilities", classes=2)),
        (
            pd.DataFrame({"a": [0.1, 0.2, 0.3], "b": [0.9, 0.8, 0.7]}),
            OutputContract(kind="probabilities", classes=2),
        ),
        (pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}), None),
    ],
)
def test_defaults_from_the_output_signature(outputs: object, expected: OutputContract | None) -> None:
    assert contract_from_signature(_mlmodel(FRAME, outputs)) == expected


def test_no_output_signature_no_default() -> None:
    assert contract_from_signature(_mlmodel(FRAME, None)) is None
    assert contract_from_signature(Model()) is None


def test_the_worst_rows_are_the_farthest_apart_and_a_broken_answer_is_the_farthest() -> None:
    numbers = OutputContract(kind="numbers", tolerance=Tolerance(absolute=0.1, relative=0))
    candidate = [1.0, 5.0, 2.0, None, 3.05]
    live = [1.0, 1.0, 1.5, 4.0, 3.0]
    assert [(d.row, d.candidate, d.live) for d in worst_rows(candidate, live, numbers)] == [
        (3, None, 4.0),
        (1, 5.0, 1.0),
        (2, 2.0, 1.5),
    ]
    labels = OutputContract(kind="labels")
    assert [d.row for d in worst_rows([0, 1, 1, 0], [1, 1, 0, 0], labels)] == [0, 2]
    assert worst_rows({"not": "a list"}, [1], labels) == []
    assert len(worst_rows(list(range(20)), [-1] * 20, labels, most=5)) == 5
