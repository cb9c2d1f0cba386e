"""The candidate's answers against live's as a whole (`answer_drift`), and the tolerance `rollout
init` writes for numbers (`spread_tolerance`)."""

from __future__ import annotations

import math

import pytest

from rollout.project.answer_drift import drift
from rollout.project.output_contract import OutputContract, Tolerance, agree
from rollout.project.spread_tolerance import spread_tolerance

NUMBERS = OutputContract(kind="numbers", tolerance=Tolerance(absolute=1.0))
LIVE = [float(v) for v in range(10)]  # mean 4.5, standard deviation 2.87


def test_an_offset_moves_the_mean_in_units_of_live_s_spread() -> None:
    found = drift([v + 1.435 for v in LIVE], LIVE, NUMBERS)
    assert found.mean_shift == pytest.approx(0.5, abs=1e-3)
    assert found.spread_ratio == pytest.approx(1.0)
    assert found.breaches == 0
    assert found.problems(10) == [
        "candidate's mean answer moved 0.50 standard deviations of live's answers (limit 0.25)"
    ]
    assert found.problems(10, max_mean_shift=0.6) == []  # the plan's own limit


def test_the_plan_s_spread_limit_decides() -> None:
    mean = sum(LIVE) / len(LIVE)
    doubled = drift([mean + 2 * (v - mean) for v in LIVE], LIVE, NUMBERS)  # same mean, twice the spread
    assert doubled.problems(10) == ["candidate's answers spread 2.00x as wide as live's (limit 0.67x..1.5x)"]
    assert doubled.problems(10, max_spread_ratio=2.5) == []


def test_a_constant_or_doubled_answer_changes_the_spread() -> None:
    assert drift([4.5] * 10, LIVE, NUMBERS).spread_ratio == 0.0
    assert drift([2 * v for v in LIVE], LIVE, NUMBERS).spread_ratio == pytest.approx(2.0)
    assert drift(LIVE, LIVE, NUMBERS).problems(10) == []


def test_any_answer_outside_the_contract_is_counted_and_the_first_named() -> None:
    answers = [math.nan if i % 5 == 0 else v for i, v in enumerate(LIVE)]
    found = drift(answers, LIVE, NUMBERS)
    assert (found.breaches, found.first_breach) == (2, "row 0: nan is not a finite number")
    assert found.mean_shift is not None  # over the rows both answered
    labels = OutputContract(kind="labels", labels=[0, 1])
    found = drift([0, 1, 7], [0, 1, 1], labels)
    assert found.problems(3) == [
        "candidate answered 1 of 3 probe rows outside the output contract "
        "(row 2: 7 is not one of the labels [0, 1])"
    ]
    assert found.mean_shift is None  # labels: agreement says the rest


def test_init_s_tolerance_is_half_the_spread_of_the_answers_and_says_so() -> None:
    found = spread_tolerance([[v] for v in LIVE])  # one-column records count as their value
    assert found.tolerance == Tolerance(absolute=1.436, relative=0.0)
    assert (
        found.note()
        == "absolute: 0.5 x 2.872, the standard deviation of the model's answers to the 10 probe rows"
    )
    assert agree(1.0, 2.4, OutputContract(kind="numbers", tolerance=found.tolerance))
    same = spread_tolerance([3.0] * 50)  # nothing to scale by: the relative 5% of old
    assert same.tolerance == Tolerance(relative=0.05) and "one value" in same.note()


def test_a_tolerance_describes_the_parts_that_are_set() -> None:
    assert Tolerance(absolute=1.436).describe() == "1.436"
    assert Tolerance(relative=0.05).describe() == "5.00%"
    assert Tolerance(absolute=1, relative=0.1).describe() == "1 or 10.00%"
    assert Tolerance().describe() == "0.00%"
