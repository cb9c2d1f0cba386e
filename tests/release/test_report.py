"""The release's history and `rollout report`, from a real stage on the emulator: the history file
and the endpoint's summary tag, the Markdown with its Mermaid charts, the terminal report, and the
HTML page opened in a real headless browser (Debian's chromium, which `make test` installs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from fake_github import FakeGitHub
from labs import Lab, Result
from release_lab import PROBE_RPS, VERSIONS, make_project, serving_v1
from rollout.release.history import GATE_REVIEWED, TAG_HISTORY, Approval, Entry, history_file, read
from rollout.release.steps import Release
from rollout.report.charts import CANDIDATE_COLOUR, LIVE_COLOUR

ENDPOINT = "ep-report-canary"
BROWSER_SECONDS = 60
RUN_ID = 777


@dataclass(frozen=True)
class Reported:
    lab: Lab
    root: Path
    release: Release

    def rollout(self, *args: str) -> Result:
        return self.lab.in_process(*args, cwd=self.root)

    def stage(self) -> Entry:
        (entry,) = [e for e in read(ENDPOINT) if e.step == "stage"]
        return entry


@pytest.fixture(scope="module")
def reported(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reported]:
    """Blue serves version 1; version 2 is deployed into green and its canary stage baked by
    `rollout promote` as a GitHub Actions job of the actor octocat, whose environment alice
    approved in the run (the GitHub stand-in serves the run's review history)."""
    root = make_project(tmp_path_factory.mktemp("report") / "project", ENDPOINT)
    rel = serving_v1(lab, root)
    github = FakeGitHub()
    github.add_review(RUN_ID, ["canary"], "alice", comment="dashboards look fine")
    github.start()
    job = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_API_URL": github.url,
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_RUN_ID": str(RUN_ID),
        "GITHUB_TOKEN": github.token,
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("GITHUB_ACTOR", "octocat")
            rel.deploy(version=VERSIONS["v2"])
        # a bake of several check intervals, so the timeline has points to chart on busy cores too
        promoted = lab.in_process(
            "promote", "--stage", "canary", "--bake", "6s", "--probe-rps", str(PROBE_RPS), cwd=root, env=job
        )
    finally:
        github.stop()
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert [r.path for r in github.requests] == [f"/repos/acme/models/actions/runs/{RUN_ID}/approvals"]
    assert github.violations == []
    yield Reported(lab, root, rel)
    lab.remove_endpoint(ENDPOINT)


def test_a_promote_records_its_stage_in_the_history_file_and_on_the_endpoint(reported: Reported) -> None:
    steps = [(e.step, e.name, e.outcome, e.release) for e in read(ENDPOINT)]
    release = "heart-classifier:2@green"
    assert steps[-2:] == [("deploy", "deploy", "done", release), ("stage", "canary", "pass", release)]
    stage = reported.stage()
    assert (stage.candidate, stage.live, stage.share, stage.actor) == ("green", "blue", "10", "octocat")
    assert stage.approval == Approval(GATE_REVIEWED, ["alice"], "canary", "dashboards look fine")
    assert stage.approver == "alice"
    assert stage.before is not None and stage.after is not None
    assert (stage.before.traffic, stage.after.traffic) == ({"blue": 100}, {"blue": 90, "green": 10})
    assert stage.limits["min_requests"] == 10 and stage.limits["max_latency_ratio"] == 100
    assert stage.started is not None and stage.started <= stage.ended
    # the timeline: intervals of the bake whose requests add up to what the verdict counted,
    # less the agreement probe sent after the last interval
    assert len(stage.timeline) >= 2
    assert [p.at for p in stage.timeline] == sorted(p.at for p in stage.timeline)
    counted = stage.numbers["candidate_requests"]
    assert isinstance(counted, int)
    assert 0 < sum(p.candidate.requests for p in stage.timeline) <= counted
    assert any(p.candidate.p95_ms for p in stage.timeline) and any(p.live.p95_ms for p in stage.timeline)
    tag = reported.release.endpoint().tags[TAG_HISTORY]
    assert re.fullmatch(
        r"heart-classifier:2 green blue\|deploy:done:0:\d{8}T\d{6}Z;canary:pass:10:\d{8}T\d{6}Z", tag
    ), tag


def test_the_markdown_report_charts_the_measured_points_and_names_the_next_split(reported: Reported) -> None:
    result = reported.rollout("report", "--format", "markdown", "--stage", "canary")
    assert result.returncode == 0, result.stderr
    text, stage = result.stdout, reported.stage()
    glance, _, details = text.partition("### Stage canary: pass\n")
    assert glance.startswith("### Release `heart-classifier:2@green` at a glance\n") and details, text
    assert "**canary pass** in " in glance
    assert (
        "| canary | pass | 10% of traffic | approved by alice on GitHub (environment canary): "
        '"dashboards look fine" |' in glance
    )
    assert (
        "**Next:** Approving stage half (environment production-half) sends 50% of live traffic to "
        "green; blue keeps 50%." in text
    )
    assert "| traffic before | blue 100% |" in text and "| traffic after | blue 90%, green 10% |" in text
    assert (
        '| who | run by octocat; approved by alice on GitHub (environment canary): "dashboards look fine" |'
        in text
    )
    assert f"| candidate requests | >= 10 | {stage.numbers['candidate_requests']} | ✅ |" in text
    charts = re.findall(r"```mermaid\n(.*?)```", details, re.S)
    assert len(charts) == 3 and all("xychart-beta" in chart for chart in charts)
    requests = next(chart for chart in charts if "Requests per interval" in chart)
    lines = [[float(v) for v in values.split(", ")] for values in re.findall(r"line \[(.*?)\]", requests)]
    assert lines == [
        [float(p.candidate.requests) for p in stage.timeline],
        [float(p.live.requests) for p in stage.timeline],
    ]
    x_axis = re.search(r"x-axis .*\[(.*)\]", requests)
    assert x_axis is not None
    assert [float(v.strip('"')) for v in x_axis.group(1).split(", ")] == [p.at for p in stage.timeline]
    assert "| deploy | done | 0% of traffic |" in text and "| canary | pass | 10% of traffic |" in text


def test_the_terminal_report_shows_the_verdict_thresholds_and_sparklines(reported: Reported) -> None:
    result = reported.rollout("report")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Release heart-classifier:2@green on ep-report-canary" in text
    assert "Stage canary: pass" in text
    assert text.index("At a glance: canary pass") < text.index("Stage canary: pass")
    assert "next: Approving stage half (environment production-half) sends 50%" in text
    assert "p95 latency / live's" in text
    assert re.search(r"candidate green\s+[▁▂▃▄▅▆▇█ ]+\s+max \d", text), text


class _Page(HTMLParser):
    """The title, the verdicts and the chart points of a page, as the browser left the DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.title, self.verdicts, self.points = "", [], []
        self._in: str | None = None
        self._chart: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "svg":
            self._chart = found.get("data-chart")
        elif tag == "circle" and found.get("class") == "point":
            self.points.append((self._chart, found["data-series"], found["data-at"], found["data-value"]))
        elif tag == "title" and self._chart is None:
            self._in = "title"
        elif tag == "span" and "verdict" in (found.get("class") or ""):
            self._in = "verdict"

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "verdict":
            self.verdicts.append(data)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.fail(
            "chromium is not installed: `make test` installs it with apt-get (as root or through sudo)",
            pytrace=False,
        )
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_SECONDS,
    )


def test_the_html_page_renders_in_a_headless_browser_with_the_measured_points(
    reported: Reported, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    result = reported.rollout("report", "--format", "html", "--output", str(page))
    assert result.returncode == 0, result.stderr
    assert not re.search(r"(src|href)=\"(https?:)?//", page.read_text()), "the page must not load anything"

    dumped = chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr
    dom = _Page()
    dom.feed(dumped.stdout)
    assert dom.title == "Release heart-classifier:2@green on ep-report-canary"
    assert dom.verdicts == ["pass"]
    stage = reported.stage()
    expected = set()
    for p in stage.timeline:
        for series, interval in (("candidate", p.candidate), ("live", p.live)):
            expected.add(("requests", series, f"{p.at:g}", f"{float(interval.requests):g}"))
            if interval.requests:
                expected.add(("error-rate", series, f"{p.at:g}", f"{round(100 * interval.error_rate, 2):g}"))
                expected.add(("p95", series, f"{p.at:g}", f"{interval.p95_ms:g}"))
    assert set(dom.points) == expected

    shot = tmp_path / "report.png"
    painted = chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,2600", page.as_uri())
    assert painted.returncode == 0, painted.stderr
    with Image.open(shot) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 20) or []}
    assert _rgb(CANDIDATE_COLOUR) in colours and _rgb(LIVE_COLOUR) in colours  # the lines are drawn


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_the_report_is_made_from_the_endpoint_alone_when_the_file_is_gone(reported: Reported) -> None:
    path = history_file(ENDPOINT)
    aside = path.with_suffix(".aside")
    path.rename(aside)
    try:
        result = reported.rollout("report", "--format", "markdown")
    finally:
        aside.rename(path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "### Stage canary: pass" in text
    assert "Only the endpoint's summary was found" in text
    assert "**Next:** Approving stage half (environment production-half) sends 50%" in text
    assert "(from the endpoint tag)" in text
    assert "| deploy | done | 0% of traffic |" in text and "| canary | pass | 10% of traffic |" in text


def test_no_history_is_one_error_line(lab: Lab, tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", "ep-report-nothing")
    result = lab.rollout("report", cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: no release history for endpoint ep-report-nothing: no history file, and endpoint "
        "ep-report-nothing does not exist; create it with `rollout endpoint apply`"
    )


def test_a_stage_not_recorded_is_one_error_line(reported: Reported) -> None:
    result = reported.rollout("report", "--stage", "half")
    assert result.returncode == 1, result.stdout
    assert result.stderr.strip() == "error: stage half of release heart-classifier:2@green was not recorded"
