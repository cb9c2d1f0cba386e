"""The report on a release: its steps from the history, each stage's thresholds against what was
measured, and what approving the next gate does. Renderers (`rollout.report`) only format this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rollout.core.errors import UserError
from rollout.project.output_contract import Tolerance
from rollout.project.specs import Stage
from rollout.release.analysis import LATENCY_NOISE_MS
from rollout.release.history import Entry, package_diff
from rollout.release.package_changes import PackageDiff
from rollout.report.glance import Glance, glance_of


@dataclass(frozen=True)
class Threshold:
    """One of the plan's analysis limits and what the stage measured against it."""

    measure: str
    limit: str
    measured: str
    ok: bool | None  # None: not judged (too few requests, or nothing to compare with)


@dataclass(frozen=True)
class StageReport:
    entry: Entry
    thresholds: list[Threshold]
    next_gate: str  # what approving the next gate does (or what to do instead)


@dataclass(frozen=True)
class ReleaseReport:
    endpoint: str
    release: str
    steps: list[Entry]  # every recorded step of the release, oldest first
    stages: list[StageReport]  # the stages shown in full
    source: str  # where the history came from
    glance: Glance  # the whole release, which the report opens with
    packages: PackageDiff | None = None  # the candidate's packages against live's, when deployed here

    @property
    def title(self) -> str:
        return f"Release {self.release} on {self.endpoint}"


@dataclass(frozen=True)
class Recorded:
    """An endpoint's release history from its two sources: this machine's file and the endpoint's tag.

    The file has the details; the tag lists steps recorded on other machines (a stage job on
    another runner): those the file lacks are taken from it.
    """

    endpoint: str
    from_file: list[Entry]
    from_tag: list[Entry] = field(default_factory=list)


def build_report(
    recorded: Recorded, plan_stages: Sequence[Stage], release: str | None = None, stage: str | None = None
) -> ReleaseReport:
    """The report on `release` (default: the latest one recorded), every stage or only `stage`."""
    endpoint, from_file, from_tag = recorded.endpoint, recorded.from_file, recorded.from_tag
    entries = _merge(from_file, from_tag)
    if not entries:
        raise UserError(f"no release history for endpoint {endpoint}: run `rollout deploy` first")
    release = release or entries[-1].release
    steps = [e for e in entries if e.release == release]
    if not steps:
        known = ", ".join(dict.fromkeys(e.release for e in entries))
        raise UserError(f"no release {release} in the history of {endpoint} (recorded: {known})")
    stage_entries = [e for e in steps if e.step == "stage" and (stage is None or e.name == stage)]
    if stage is not None:
        if not stage_entries:
            raise UserError(f"stage {stage} of release {release} was not recorded")
        stage_entries = stage_entries[-1:]  # the latest run of the stage
    sources = [name for name, part in (("history file", from_file), ("endpoint tag", from_tag)) if part]
    return ReleaseReport(
        endpoint=endpoint,
        release=release,
        steps=steps,
        stages=[StageReport(e, thresholds(e), next_gate(e, plan_stages)) for e in stage_entries],
        source=" and ".join(sources),
        packages=_packages(entries, steps),
        glance=glance_of(steps),
    )


def _packages(entries: list[Entry], steps: list[Entry]) -> PackageDiff | None:
    """The release's packages against live's, as recorded up to its deploy (None without one)."""
    deploys = [e for e in steps if e.step == "deploy" and not e.from_tag and e.candidate]
    if not deploys:
        return None
    upto = entries[: entries.index(deploys[-1]) + 1]
    return package_diff(upto, deploys[-1].live, deploys[-1].candidate or "")


def _merge(from_file: list[Entry], from_tag: list[Entry]) -> list[Entry]:
    """The file's entries, with the tag's steps of the latest release that came before them.

    The tag lists every step of the release; the file's steps of it are its last ones (a stage
    job on a fresh runner records only its own stage)."""
    if not from_file:
        return from_tag
    latest = from_file[-1].release
    mine = [e for e in from_file if e.release == latest]
    listed = [e for e in from_tag if e.release == latest]
    if [e.name for e in listed[-len(mine) :]] == [e.name for e in mine]:
        earlier = listed[: -len(mine)]
    else:  # the tag lost its oldest steps, or they were recorded elsewhere since
        earlier = [e for e in listed if e.ended < mine[0].ended]
    return [e for e in from_file if e.release != latest] + earlier + mine


def next_gate(entry: Entry, plan_stages: Sequence[Stage]) -> str:
    """What approving the gate after this stage does, or what to do when the stage did not pass."""
    candidate, live = entry.candidate or "the candidate", entry.live
    if entry.outcome == "fail":
        return (
            f"Rolled back: all traffic to {live or 'no deployment'}. The release stops here; "
            "fix the model and release a new version."
        )
    if entry.outcome == "error":
        return (
            f"Could not be judged, so rolled back: all traffic to {live or 'no deployment'}. Run the "
            f"stage again once its metrics can be read (`rollout promote --stage {entry.name}`)."
        )
    if entry.outcome != "pass":
        return f"Not passed ({entry.outcome}): run the stage again (`rollout promote --stage {entry.name}`)."
    names = [s.name for s in plan_stages]
    if entry.name in names and names.index(entry.name) + 1 < len(names):
        following = plan_stages[names.index(entry.name) + 1]
        if following.mirror is not None:
            return (
                f"Approving stage {following.name} (environment {following.environment}) mirrors "
                f"{following.mirror}% of the live requests to {candidate}; users stay on {live}."
            )
        traffic = following.traffic or 100
        rest = f"; {live} keeps {100 - traffic}%" if live and traffic < 100 else ""
        return (
            f"Approving stage {following.name} (environment {following.environment}) sends "
            f"{traffic}% of live traffic to {candidate}{rest}."
        )
    if live:
        return f"Approving retire deletes {live}, the old deployment; {candidate} keeps all traffic."
    return f"Approving retire closes the release; {candidate} keeps all traffic."


def thresholds(entry: Entry) -> list[Threshold]:
    """The plan's limits next to the stage's numbers."""
    limits, n = entry.limits, entry.numbers
    if not limits:
        return []
    requests = int(n.get("candidate_requests") or 0)
    enough = requests >= limits["min_requests"]
    c_rate, l_rate = _num(n, "candidate_error_rate"), _num(n, "live_error_rate")
    c_p95, l_p95 = n.get("candidate_p95_ms"), n.get("live_p95_ms")
    agreement = n.get("agreement")
    rows = [
        Threshold("candidate requests", f">= {limits['min_requests']:g}", str(requests), enough),
        Threshold(
            "error rate over live",
            f"<= +{limits['max_error_rate']:.2%} (at {limits['confidence']:.0%} confidence)",
            f"{c_rate:.2%} vs {l_rate:.2%} (p={n.get('error_p_value')})",
            not (
                c_rate - l_rate > limits["max_error_rate"]
                and _num(n, "error_p_value") < 1 - limits["confidence"]
            ),
        ),
        Threshold(
            "p95 latency",
            f"<= {limits['max_p95_latency_ms']:g} ms",
            "n/a" if c_p95 is None else f"{c_p95:g} ms",
            None if c_p95 is None or not enough else c_p95 <= limits["max_p95_latency_ms"],
        ),
        Threshold(
            "p95 latency / live's",
            f"<= {limits['max_latency_ratio']:g}x (or within {LATENCY_NOISE_MS:g} ms)",
            f"{c_p95 / l_p95:.2f}x ({c_p95:g} / {l_p95:g} ms)" if c_p95 is not None and l_p95 else "n/a",
            None
            if c_p95 is None or not l_p95 or not enough
            else c_p95 <= limits["max_latency_ratio"] * l_p95 or c_p95 - l_p95 <= LATENCY_NOISE_MS,
        ),
    ]
    if agreement is not None:
        rows.append(
            Threshold(
                "agreement with live",
                f">= {limits['min_agreement']:.0%}{_tolerance(limits)}",
                f"{agreement:.2%} of {n.get('agreement_rows')} probe rows",
                agreement >= limits["min_agreement"],
            )
        )
        rows += _drift(limits, n)
    return rows


def _tolerance(limits: dict[str, float]) -> str:
    """How a number model's answers agree: `, within 0.52` (absolute) or `, within 5.00%`."""
    if "tolerance_absolute" not in limits:
        return ""
    tolerance = Tolerance(
        absolute=limits["tolerance_absolute"], relative=limits.get("tolerance_relative", 0.0)
    )
    return f" of rows within {tolerance.describe()}"


def _drift(limits: dict[str, float], n: dict[str, float | int | None]) -> list[Threshold]:
    """The answers as a whole: contract breaches, and a number model's mean shift and spread ratio."""
    rows = []
    if n.get("contract_breaches") is not None:
        breaches = int(n["contract_breaches"] or 0)
        rows.append(Threshold("answers breaking the output contract", "0", str(breaches), breaches == 0))
    shift, ratio = n.get("mean_shift"), n.get("spread_ratio")
    max_shift, max_ratio = limits.get("max_mean_shift"), limits.get("max_spread_ratio")
    if shift is not None and max_shift is not None:
        rows.append(
            Threshold(
                "mean shift (sd of live's answers)", f"<= {max_shift:g}", f"{shift:.2f}", shift <= max_shift
            )
        )
    if ratio is not None and max_ratio is not None:
        rows.append(
            Threshold(
                "spread ratio (candidate / live)",
                f"{1 / max_ratio:.2f}x..{max_ratio:g}x",
                f"{ratio:.2f}x",
                1 / max_ratio <= ratio <= max_ratio,
            )
        )
    return rows


def _num(numbers: dict[str, float | int | None], key: str) -> float:
    value = numbers.get(key)
    return float(value) if value is not None else 0.0
