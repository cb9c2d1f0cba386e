"""Traffic strings and Azure's split rules, checked before anything is sent."""

from __future__ import annotations

import pytest

from rollout.core.errors import UserError
from rollout.project.traffic import check_split, parse_split


def test_pairs_with_spaces_or_commas() -> None:
    assert parse_split("blue=90 green=10") == {"blue": 90, "green": 10}
    assert parse_split("Blue=100,green=0") == {"blue": 100, "green": 0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty traffic '': expected pairs like 'blue=90 green=10'"),
        ("blue:90", "malformed traffic 'blue:90': expected <deployment>=<percent>, e.g. blue=90"),
        ("blue=ninety", "malformed traffic 'blue=ninety': expected <deployment>=<percent>, e.g. blue=90"),
        ("blue=101", "traffic 'blue=101': a percent is between 0 and 100"),
        ("blue=50 blue=50", "traffic names 'blue' twice"),
    ],
)
def test_malformed_traffic(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_split(text)
    assert str(caught.value) == message


def test_split_rules() -> None:
    check_split({"blue": 90, "green": 10}, {"blue", "green"})
    check_split({"blue": 0}, {"blue"})
    with pytest.raises(UserError, match="traffic must add up to 0 or 100, not 90"):
        check_split({"blue": 80, "green": 10}, {"blue", "green"})
    with pytest.raises(UserError, match=r"no deployment named red \(deployments: blue, green\)"):
        check_split({"red": 100}, {"blue", "green"})
