"""The history's pure parts: bake timelines from cumulative snapshots, the endpoint's summary tag
within Azure's limit, and what the report says the next gate does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rollout.azureml.metrics_sources import WindowStats
from rollout.core.errors import UserError
from rollout.project.specs import Stage
from rollout.release.history import (
    TAG_VALUE_LIMIT,
    Entry,
    Interval,
    Point,
    Split,
    Timeline,
    append,
    from_tag,
    read,
    tag_add,
    tag_start,
)
from rollout.report.charts import charts_of
from rollout.report.contents import Recorded, build_report, next_gate, thresholds

EDGES = (10.0, 100.0, 1000.0, float("inf"))


def cumulative(ok: int, errors: int, slow: int) -> WindowStats:
    """`ok + errors` requests, `slow` of them between 100 and 1000 ms, the others under 10 ms."""
    fast = ok + errors - slow
    return WindowStats(
        ok=ok,
        errors=errors,
        latency_buckets=tuple(zip(EDGES, (fast, fast, fast + slow, fast + slow), strict=True)),
    )


def test_each_point_is_the_interval_between_two_snapshots_with_its_own_p95() -> None:
    timeline = Timeline(seconds=3, max_points=3)
    timeline.add(1.0, cumulative(10, 0, 0), cumulative(10, 0, 0))
    timeline.add(2.0, cumulative(18, 2, 10), cumulative(20, 0, 0))  # all 10 of this interval slow
    timeline.add(3.0, cumulative(28, 2, 10), cumulative(30, 0, 0))
    first, second, third = timeline.points
    assert (second.at, second.candidate.requests, second.candidate.errors) == (2.0, 10, 2)
    assert second.candidate.error_rate == 0.2
    assert second.candidate.p95_ms is not None and 100 < second.candidate.p95_ms <= 1000
    assert first.candidate.p95_ms is not None and first.candidate.p95_ms <= 10
    assert third.candidate.p95_ms is not None and third.candidate.p95_ms <= 10  # not the cumulative p95
    assert (third.live.requests, third.live.errors) == (10, 0)


def test_a_long_bake_keeps_at_most_max_points_and_its_last_snapshot() -> None:
    timeline = Timeline(seconds=100, max_points=10)
    for second in range(1, 101):
        timeline.add(second + 0.5, cumulative(second, 0, 0), WindowStats())
    points = timeline.points
    assert len(points) <= 11 and points[-1].at == 100.5
    assert sum(p.candidate.requests for p in points) == 100  # every request in exactly one interval


def test_the_tag_keeps_within_azures_limit_dropping_the_oldest_steps() -> None:
    value = tag_start("heart-classifier:2", "green", "blue")
    value = tag_add(value, "deploy", "done", "0", "2026-11-30T15:00:00+00:00")
    for n in range(20):
        value = tag_add(value, f"stage-with-a-long-name-{n}", "pass", "10", "2026-11-30T15:01:02+00:00")
    assert len(value) <= TAG_VALUE_LIMIT
    assert value.startswith("heart-classifier:2 green blue|")
    entries = from_tag(value, "ep")
    assert entries[-1].name == "stage-with-a-long-name-19" and "deploy" not in [e.name for e in entries]
    assert entries[-1].ended == "2026-11-30T15:01:02+00:00"
    assert (entries[-1].release, entries[-1].candidate, entries[-1].live) == (
        "heart-classifier:2@green",
        "green",
        "blue",
    )


def test_an_unreadable_tag_lists_nothing() -> None:
    assert from_tag(None, "ep") == [] and from_tag("something else", "ep") == []


STAGES = [
    Stage(name="canary", traffic=10, bake="1m", environment="canary"),
    Stage(name="full", traffic=100, bake="1m", environment="production"),
]


def stage_entry(name: str, outcome: str, live: str | None = "blue") -> Entry:
    return Entry("m:2@green", "ep", "stage", name, outcome, "2026-11-30T15:00:00+00:00", "green", live, "10")


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (
            stage_entry("canary", "pass"),
            "Approving stage full (environment production) sends 100% of live traffic to green.",
        ),
        (
            stage_entry("full", "pass"),
            "Approving retire deletes blue, the old deployment; green keeps all traffic.",
        ),
        (
            stage_entry("full", "pass", live=None),
            "Approving retire closes the release; green keeps all traffic.",
        ),
        (stage_entry("canary", "fail"), "Rolled back: all traffic to blue."),
        (stage_entry("canary", "inconclusive"), "run the stage again (`rollout promote --stage canary`)"),
        (stage_entry("canary", "error"), "Could not be judged, so rolled back: all traffic to blue."),
    ],
)
def test_what_approving_the_next_gate_does(entry: Entry, says: str) -> None:
    assert says in next_gate(entry, STAGES)


def test_the_file_round_trips_and_a_report_takes_earlier_steps_from_the_tag(
    rollout_home: Path,
) -> None:
    canary = replace(
        stage_entry("canary", "pass"), before=Split({"blue": 100}), after=Split({"blue": 90, "green": 10})
    )
    append(canary)
    assert read("ep") == [canary]
    tag = tag_add(tag_start("m:2", "green", "blue"), "deploy", "done", "0", "2026-11-30T14:59:00+00:00")
    # the stage's own summary on the tag, a second earlier than the file's entry says
    tag = tag_add(tag, "canary", "pass", "10", "2026-11-30T14:59:59+00:00")
    report = build_report(Recorded("ep", read("ep"), from_tag(tag, "ep")), STAGES)
    assert [(e.name, e.from_tag) for e in report.steps] == [("deploy", True), ("canary", False)]
    assert [s.entry for s in report.stages] == [canary]
    with pytest.raises(UserError, match="stage full of release m:2@green was not recorded"):
        build_report(Recorded("ep", read("ep")), STAGES, stage="full")
    with pytest.raises(UserError, match="no release other@x in the history of ep"):
        build_report(Recorded("ep", read("ep")), STAGES, release="other@x")
    (rollout_home / "history" / "ep.jsonl").write_text('{"release": 1}\n')
    with pytest.raises(UserError, match="is not a release history"):
        read("ep")


def test_a_stage_with_nothing_live_shows_the_candidate_alone() -> None:
    limits = {"min_requests": 10, "max_error_rate": 0.01, "confidence": 0.95, "max_p95_latency_ms": 500}
    entry = Entry(
        release="heart-classifier:1@blue",
        endpoint="ep",
        step="stage",
        name="full",
        outcome="pass",
        ended="2026-11-30T15:01:02+00:00",
        candidate="blue",
        limits={**limits, "max_latency_ratio": 2.0, "min_agreement": 0.9},
        numbers={"candidate_requests": 12, "candidate_error_rate": 0.0, "candidate_p95_ms": 20.0},
        timeline=[Point(1.0, Interval(12, 0, 20.0), Interval(0, 0, None))],
    )
    rows = {row.measure: row for row in thresholds(entry)}
    assert "agreement with live" not in rows  # no live deployment, no probe rows to compare
    assert (rows["p95 latency / live's"].measured, rows["p95 latency / live's"].ok) == ("n/a", None)
    assert (rows["p95 latency"].ok, rows["candidate requests"].ok) == (True, True)
    charts = charts_of(entry)
    assert [chart.key for chart in charts] == ["error-rate", "p95", "requests"]
    assert all([series.key for series in chart.series] == ["candidate"] for chart in charts)


def test_a_torn_line_is_set_aside_and_named_and_the_next_entry_starts_a_line_of_its_own(
    rollout_home: Path,
) -> None:
    canary, full = stage_entry("canary", "pass"), stage_entry("full", "pass")
    path = append(canary)
    whole = path.read_text()
    with path.open("a") as out:  # an append cut short: half an entry, no newline
        out.write(whole[: len(whole) // 2])
    heard: list[str] = []
    assert read("ep", on_torn=heard.append) == [canary]
    assert heard == [f"{path}: line 2 is torn (an append cut short), set aside: {whole[:60]!r}"]
    append(full)
    assert path.read_text().endswith("\n" + whole.replace("canary", "full"))
    heard.clear()
    assert read("ep", on_torn=heard.append) == [canary, full]
    assert len(heard) == 1 and heard[0].startswith(f"{path}: line 2 is torn")
