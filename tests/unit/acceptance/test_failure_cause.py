"""How a failed acceptance suite is worded in one line (the cause `rollout rehearse` ends with, and
the pull-request check's summary shows): the first failing test of its JUnit report and the first
line of its message. A version that disagrees with live is caught here, by
`test_candidate_agrees_with_live` (its release through `rollout release` is in tests/init); the
rehearsals of tests/release/test_rehearse.py show the same line end to end for the output contract."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from rollout.acceptance.launcher import failure_cause

DISAGREES = (
    "AssertionError: agreement 0.00% over 76 probe rows (a class label in [0, 1]; agreement: equal labels); "
    "rows that disagree most: row 0: candidate 1, live 0; row 1: candidate 0, live 1"
)


def junit(path: Path, *cases: tuple[str, str | None]) -> Path:
    """A JUnit report as pytest's --junitxml writes it: each case's name and its failure message."""
    body = "".join(
        f'<testcase classname="rollout.acceptance.test_candidate" name="{name}" time="0.1">'
        + (
            f"<failure message={quoteattr(message + chr(10) + 'assert 0.0 >= 0.9')}>trace</failure>"
            if message
            else ""
        )
        + "</testcase>"
        for name, message in cases
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        f'<testsuite name="pytest" errors="0" failures="1" skipped="0" tests="{len(cases)}" time="1.2">'
        f"{body}</testsuite></testsuites>"
    )
    return path


def test_a_candidate_that_disagrees_with_live_is_named_with_its_agreement(tmp_path: Path) -> None:
    report = junit(
        tmp_path / "junit.xml",
        ("test_candidate_scores_every_sample[probe.json]", None),
        ("test_candidate_agrees_with_live", DISAGREES),
        ("test_p95_latency_is_under_the_plan_limit", None),
    )
    assert failure_cause("green", report) == (
        f"the acceptance suite failed against green: test_candidate_agrees_with_live: {DISAGREES}"
    )


def test_the_first_failing_test_is_the_cause(tmp_path: Path) -> None:
    contract = "AssertionError: output contract: a class label in [0, 1]; agreement: equal labels"
    report = junit(
        tmp_path / "junit.xml",
        ("test_candidate_scores_every_sample[probe.json]", contract),
        ("test_candidate_agrees_with_live", DISAGREES),
    )
    assert failure_cause("blue", report) == (
        "the acceptance suite failed against blue: "
        f"test_candidate_scores_every_sample[probe.json]: {contract}"
    )


def test_without_a_report_the_line_names_the_deployment(tmp_path: Path) -> None:
    assert failure_cause("green", tmp_path / "absent.xml") == "the acceptance suite failed against green"
