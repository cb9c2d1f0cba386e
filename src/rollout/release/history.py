"""The release's history: what each step did, kept so that a report can be made after the fact.

Two copies are kept:
- a JSON Lines file per endpoint in the state directory, `.rollout/history/<endpoint>.jsonl`, one
  `Entry` a line: the step, the splits, a stage's verdict, thresholds and bake timeline, who ran it,
  and for a deploy the packages of the deployment's environment (what a rollback redeploys);
- a compact summary in the endpoint tag `rollout.history`, `<model> <candidate> <live>|` followed by
  `<step>:<outcome>:<share>:<time>` items joined by `;`, kept within Azure's 256 characters for a
  tag value (the oldest items go first), so that the release's steps can be listed from the
  endpoint alone when the file is not there (a job on another runner, another machine).
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from rollout.azureml.metrics_sources import WindowStats
from rollout.core import paths
from rollout.core.errors import UserError
from rollout.release.package_changes import PackageDiff, compare

TAG_HISTORY = "rollout.history"
TAG_VALUE_LIMIT = 256  # Azure: a tag value has at most 256 characters
MAX_POINTS = 30  # a bake's timeline has at most this many intervals, whatever its length
DONE = "done"  # the outcome of a step that is not judged (deploy, rollback, retire)
_TAG_TIME = "%Y%m%dT%H%M%SZ"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Interval:
    """What one deployment served in one interval of a bake."""

    requests: int
    errors: int
    p95_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @classmethod
    def of(cls, stats: WindowStats) -> Interval:
        p95 = stats.p95_ms
        return cls(stats.requests, stats.errors, None if p95 is None else round(p95, 1))


@dataclass(frozen=True)
class Point:
    """One interval of a bake, ending `at` seconds after the bake began."""

    at: float
    candidate: Interval
    live: Interval


class Timeline:
    """Per-interval points from a bake's cumulative progress (at most `MAX_POINTS` of them).

    Each point is the difference between two cumulative snapshots, so an interval's p95 comes from
    that interval's own latency histogram.
    """

    def __init__(self, seconds: float, max_points: int = MAX_POINTS) -> None:
        self._step = seconds / max_points
        self._points: list[Point] = []
        self._last: tuple[float, WindowStats, WindowStats] = (0.0, WindowStats(), WindowStats())
        self._pending: tuple[float, WindowStats, WindowStats] | None = None

    def add(self, elapsed: float, candidate: WindowStats, live: WindowStats) -> None:
        """A cumulative snapshot of the bake window, `elapsed` seconds in."""
        self._pending = (elapsed, candidate, live)
        if elapsed - self._last[0] >= self._step:
            self._flush()

    def _flush(self) -> None:
        if self._pending is None:
            return
        at, candidate, live = self._pending
        _, candidate_before, live_before = self._last
        self._points.append(
            Point(
                round(at, 2),
                Interval.of(candidate.minus(candidate_before)),
                Interval.of(live.minus(live_before)),
            )
        )
        self._last, self._pending = self._pending, None

    @property
    def points(self) -> list[Point]:
        self._flush()
        return list(self._points)


@dataclass(frozen=True)
class Split:
    """Live traffic and mirrored traffic, deployment -> percent."""

    traffic: dict[str, int] = field(default_factory=dict)
    mirror: dict[str, int] = field(default_factory=dict)


GATE_REVIEWED = "reviewed"  # reviewers approved the stage's GitHub environment in this run
GATE_OPEN = "open"  # the stage's GitHub environment asked for no review
GATE_PROMPT = "prompt"  # a person answered `rollout release`'s question before the stage
GATE_NONE = "none"  # run by hand (or with --yes): nobody was asked
GATE_UNREAD = "unread"  # run in GitHub Actions, but the run's approvals could not be read


@dataclass(frozen=True)
class Approval:
    """How a stage's gate was passed, and by whom."""

    gate: str  # one of the GATE_* values
    by: list[str] = field(default_factory=list)  # who approved (GitHub logins) or confirmed
    environment: str | None = None  # the stage's GitHub environment
    comment: str | None = None  # the reviewer's comment
    why_unread: str | None = None  # GATE_UNREAD: what GitHub answered


@dataclass(frozen=True)
class Entry:
    """One step of a release. Entries read from the endpoint's tag carry only the step, its
    outcome, the candidate's share and the time (`from_tag`)."""

    release: str  # `<model name:version>@<candidate slot>`
    endpoint: str
    step: str  # deploy, stage, rollback or retire
    name: str  # the stage's name; the step's for the others
    outcome: str  # a stage's verdict (pass, fail, inconclusive, ...); "done" for the other steps
    ended: str  # ISO 8601, UTC
    candidate: str | None = None
    live: str | None = None
    share: str | None = None  # what the step gave the candidate: "10" (% of traffic) or "m10" (mirrored)
    started: str | None = None
    before: Split | None = None
    after: Split | None = None
    rolled_back: bool = False
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    numbers: dict[str, float | int | None] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)  # the plan's analysis thresholds
    timeline: list[Point] = field(default_factory=list)
    actor: str | None = None  # who ran the step (GitHub: the actor of the run)
    approver: str | None = None  # who approved the stage's gate, when known (`approval.by`)
    approval: Approval | None = None  # how the stage's gate was passed
    run_url: str | None = None  # the GitHub Actions run, whose page shows the approvals
    packages: list[str] | None = None  # a deploy's environment (`name==version`), when its log lists it
    from_tag: bool = False


def release_id(model: str | None, candidate: str | None) -> str:
    return f"{model or 'unknown'}@{candidate or 'none'}"


def share_of(candidate: str | None, split: Split) -> str:
    """What a split gives the candidate: its traffic percent, or `m<percent>` when mirrored."""
    if candidate is not None and split.mirror.get(candidate):
        return f"m{split.mirror[candidate]}"
    return str(split.traffic.get(candidate or "", 0))


def who() -> str | None:
    """Who runs this step: the GitHub actor (and who re-ran the run, if someone else), or the user."""
    actor, triggering = os.environ.get("GITHUB_ACTOR"), os.environ.get("GITHUB_TRIGGERING_ACTOR")
    if actor:
        return actor if not triggering or triggering == actor else f"{actor} (re-run by {triggering})"
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def run_url() -> str | None:
    parts = [os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


# -- the file --------------------------------------------------------------------------------------

_ENTRY = TypeAdapter(Entry)


def history_file(endpoint: str) -> Path:
    return paths.home() / "history" / f"{endpoint}.jsonl"


def append(entry: Entry) -> Path:
    """Add an entry to its endpoint's history file, on a line of its own, under an exclusive lock.

    A line left torn by an append cut short stays where it is (`read` sets it aside); the new entry
    starts on the next line."""
    path = history_file(entry.endpoint)
    paths.ensure_home()
    path.parent.mkdir(exist_ok=True)
    line = json.dumps(asdict(entry), separators=(",", ":")) + "\n"
    with path.open("a+b") as out:
        fcntl.flock(out, fcntl.LOCK_EX)  # another process's append waits; released on close
        if out.seek(0, os.SEEK_END) > 0:
            out.seek(-1, os.SEEK_END)
            if out.read(1) != b"\n":
                line = "\n" + line
        out.write(line.encode("utf-8"))
        out.flush()
        os.fsync(out.fileno())
    return path


def read(endpoint: str, on_torn: Callable[[str], None] | None = None) -> list[Entry]:
    """The endpoint's history, oldest first; empty when there is no file.

    A torn line (not JSON: an append cut short) is set aside, and `on_torn` hears which it is; a
    line of JSON that is not an entry means the file is not a release history."""
    path = history_file(endpoint)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entries.append(_ENTRY.validate_json(line))
        except ValidationError as exc:
            error = exc.errors()[0]
            if error["type"] != "json_invalid":
                raise UserError(f"{path} is not a release history: {error['msg']}") from None
            if on_torn is not None:
                on_torn(f"{path}: line {number} is torn (an append cut short), set aside: {line[:60]!r}")
    return entries


# -- packages --------------------------------------------------------------------------------------


def recorded_packages(
    entries: Sequence[Entry], deployment: str, model: str | None = None
) -> list[str] | None:
    """The packages the latest deploy of `deployment` recorded (of `model` into it, when named: an
    earlier release's deploy into the slot says nothing of what it serves now); None when none."""
    for entry in reversed(entries):
        if entry.step != "deploy" or entry.candidate != deployment:
            continue
        if model is None or entry.release == release_id(model, deployment):
            return entry.packages
    return None


def package_diff(
    entries: Sequence[Entry], live: str | None, candidate: str, models: Mapping[str, str | None] | None = None
) -> PackageDiff:
    """The candidate's packages against live's, as the history's deploys recorded them (`models`:
    the model each deployment serves now, whose deploy must be the one that recorded them)."""
    served = models or {}
    live_packages = recorded_packages(entries, live, served.get(live)) if live else None
    return compare(
        live, live_packages, candidate, recorded_packages(entries, candidate, served.get(candidate))
    )


# -- the tag ---------------------------------------------------------------------------------------


def tag_start(model: str | None, candidate: str | None, live: str | None) -> str:
    """The summary tag of a release that has just been deployed."""
    return f"{model or 'unknown'} {candidate or '-'} {live or '-'}|"


def tag_add(value: str | None, step: str, outcome: str, share: str, when: str) -> str:
    """The summary tag with one more step, the oldest steps dropped to fit Azure's limit."""
    head, _, items = (value or tag_start(None, None, None)).partition("|")
    stamp = datetime.fromisoformat(when).strftime(_TAG_TIME)
    kept = [item for item in items.split(";") if item] + [f"{step}:{outcome}:{share}:{stamp}"]
    while len(f"{head}|{';'.join(kept)}") > TAG_VALUE_LIMIT and len(kept) > 1:
        kept.pop(0)
    return f"{head}|{';'.join(kept)}"[:TAG_VALUE_LIMIT]


def from_tag(value: str | None, endpoint: str) -> list[Entry]:
    """The steps a summary tag lists, as entries with only those details; [] when unreadable."""
    head, bar, items = (value or "").partition("|")
    fields = head.split(" ")
    if not bar or len(fields) != 3:
        return []
    model, candidate, live = (None if f in ("-", "unknown") else f for f in fields)
    entries = []
    for item in filter(None, items.split(";")):
        parts = item.split(":")
        if len(parts) != 4:
            continue
        name, outcome, share, stamp = parts
        try:
            ended = datetime.strptime(stamp, _TAG_TIME).replace(tzinfo=UTC).isoformat()
        except ValueError:
            continue
        entries.append(
            Entry(
                release=release_id(model, candidate),
                endpoint=endpoint,
                step="stage" if outcome != DONE else name,
                name=name,
                outcome=outcome,
                ended=ended,
                candidate=candidate,
                live=live,
                share=share,
                from_tag=True,
            )
        )
    return entries
