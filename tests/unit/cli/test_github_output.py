"""Step outputs in `$GITHUB_OUTPUT`: every value in GitHub's delimiter form, read back as GitHub does."""

from __future__ import annotations

from pathlib import Path

import pytest

from github_output_format import parse_github_output
from rollout.cli.console import github_output


@pytest.fixture
def output_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "github_output"
    path.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(path))
    return path


def test_values_round_trip_through_githubs_parsing(output_file):
    github_output({"live": "blue", "candidate": None, "verdict": "pass"})

    assert parse_github_output(output_file.read_text()) == {
        "live": "blue",
        "candidate": "",
        "verdict": "pass",
    }
    assert all("=" not in line for line in output_file.read_text().splitlines())


def test_a_value_with_newlines_cannot_set_another_output(output_file):
    injected = "heart-classifier\nverdict=pass\nchanged<<EOF\ntrue\nEOF\n"

    github_output({"model": injected, "verdict": "fail"})

    assert parse_github_output(output_file.read_text()) == {"model": injected, "verdict": "fail"}


def test_each_value_gets_its_own_random_delimiter(output_file):
    github_output({"a": "1", "b": "2"})

    delimiters = [line.split("<<", 1)[1] for line in output_file.read_text().splitlines() if "<<" in line]
    assert len(delimiters) == len(set(delimiters)) == 2
    assert all(len(d) > 32 for d in delimiters)


def test_appends_to_what_earlier_steps_wrote(output_file):
    output_file.write_text("earlier=yes\n")

    github_output({"later": "too"})

    assert parse_github_output(output_file.read_text()) == {"earlier": "yes", "later": "too"}


def test_outside_github_actions_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.chdir(tmp_path)

    github_output({"live": "blue"})

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["", "a=b", "a<<b", "a\nb"])
def test_a_name_github_would_misread_is_refused(output_file, key):
    with pytest.raises(ValueError, match="not a GitHub output name"):
        github_output({key: "x"})
