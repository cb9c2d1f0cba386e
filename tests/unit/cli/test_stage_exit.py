"""How a stage's verdict ends `rollout promote` and `rollout release`: its exit status, and for an
error one `error:` line."""

from __future__ import annotations

import pytest
import typer

from rollout.cli import UserErrorExit
from rollout.cli.release import _exit_for
from rollout.core.errors import UserError
from rollout.release.analysis import Verdict
from rollout.release.results import StageResult


def stage(verdict: Verdict) -> StageResult:
    return StageResult("canary", {"green": 10, "blue": 90}, verdict, verdict.outcome in ("fail", "error"))


def test_pass_exits_zero_fail_one_inconclusive_three() -> None:
    _exit_for(stage(Verdict("pass")))
    for outcome, code in (("fail", 1), ("inconclusive", 3)):
        with pytest.raises(typer.Exit) as ended:
            _exit_for(stage(Verdict(outcome)))  # type: ignore[arg-type]
        assert ended.value.exit_code == code


def test_an_error_ends_in_one_error_line_and_exit_four(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UserError) as ended:
        _exit_for(stage(Verdict.error("metrics source failed: the emulator's metrics: 500")))
    assert ended.value.exit_code == 4
    UserErrorExit(ended.value).show()  # what the command line prints for it
    assert capsys.readouterr().err == (
        "error: stage canary could not be judged: metrics source failed: the emulator's metrics: 500; "
        "rolled back: all traffic to the live deployment\n"
    )
