"""The scoring benchmark's report: the table, each goal met or missed, and benchmarks/RESULTS.md."""

from __future__ import annotations

import contextlib
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.scoring.demo import DEMO_RELEASE_STEP, Demo
from benchmarks.scoring.load import Split
from benchmarks.scoring.starts import Starts
from benchmarks.scoring.subjects import CLIENTS, ENDPOINT_TARGET, INSTANCE_TARGET, SERVE_TARGET
from rollout.core.stats import percentile

NOTES_MARK = "\n## Where the time goes\n"


@dataclass
class Goal:
    text: str
    value: float
    limit: float
    unit: str
    at_most: bool = True

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        relation = "<=" if self.at_most else ">="
        verdict = "met" if self.met else "MISSED"
        return (
            f"{self.text}: {self.value:.2f}{self.unit} (goal {relation} {self.limit:g}{self.unit}) {verdict}"
        )


@dataclass
class Report:
    latency: dict[int, dict[str, list[float]]]  # milliseconds per request, by row count and target
    rps: dict[tuple[str, int], float]  # by target and worker count
    split: Split
    demo: Demo | None
    seconds: float
    machine: str
    starts: Starts | None = None
    function_ms: dict[int, list[float]] = field(default_factory=dict)  # the instance's run(), by rows

    def p50(self, rows: int, name: str) -> float:
        return percentile(self.latency[rows][name], 50)

    def beside_mlflow(self) -> list[str]:
        """The endpoint against `mlflow models serve`, and the floor Azure's scoring contract sets:
        the instance's scoring script alone (run(), as azmlinfsrv times it) against mlflow's whole
        request. No endpoint in front of Azure's server and script can be faster than that floor."""
        lines = []
        for n in sorted(self.latency):
            serve, endpoint = self.p50(n, SERVE_TARGET), self.p50(n, ENDPOINT_TARGET)
            lines.append(f"endpoint p50 / mlflow models serve p50, {n}-row: {endpoint / serve:.2f}x")
            if self.function_ms.get(n):
                function = percentile(self.function_ms[n], 50)
                lines.append(
                    "the scoring script's run() alone (azmlinfsrv's x-ms-run-fn-exec-ms) p50 / mlflow "
                    f"models serve p50, {n}-row: {function / serve:.2f}x "
                    f"({function:.1f} ms against {serve:.1f} ms)"
                )
        for workers in (1, 2):
            ratio = self.rps[ENDPOINT_TARGET, workers] / self.rps[SERVE_TARGET, workers]
            lines.append(f"throughput / mlflow models serve, {workers} worker(s): {ratio:.2f}x")
        return lines

    def goals(self) -> list[Goal]:
        goals: list[Goal] = []
        overhead = self.p50(1, ENDPOINT_TARGET) - self.p50(1, INSTANCE_TARGET)
        goals.append(Goal("router overhead (endpoint - instance), 1-row p50", overhead, 1.0, " ms"))
        goals += [
            Goal(
                f"endpoint p50 / azmlinfsrv called directly (the instance) p50, {n}-row",
                self.p50(n, ENDPOINT_TARGET) / self.p50(n, INSTANCE_TARGET),
                1.25,
                "x",
            )
            for n in sorted(self.latency)
        ]
        if self.starts is not None:
            goals.append(
                Goal(
                    "instance start: a cached environment's deployment to its first scored request, "
                    "its ready process warmed when the emulator started",
                    self.starts.warmed,
                    2.0,
                    " s",
                )
            )
            goals.append(
                Goal(
                    "first build of the environment on a warm package cache",
                    self.starts.first_build,
                    10,
                    " s",
                )
            )
        live_error = max(abs(self.split.live.get("blue", 0) - 90), abs(self.split.live.get("green", 0) - 10))
        goals.append(
            Goal(
                f"90/10 split, worst share error over {self.split.requests} requests", live_error, 0.5, " pp"
            )
        )
        goals.append(Goal("10% mirror, share error", abs(self.split.mirrored - 10), 0.5, " pp"))
        if self.demo is not None:
            goals.append(self._demo_goal(self.demo))
        return goals

    @staticmethod
    def _demo_goal(demo: Demo) -> Goal:
        release = demo.steps.get(DEMO_RELEASE_STEP)
        label = f"make demo's release rehearsal (the step {DEMO_RELEASE_STEP!r})"
        if demo.failure or release is None:
            total = demo.steps["total"]
            text = f"{label}; the demo FAILED after {total:.0f} s: {demo.failure or 'no such step'}"
            return Goal(text, float("inf"), 90, " s")
        return Goal(label, release, 90, " s")

    def markdown(self) -> str:
        names = list(next(iter(self.latency.values())))
        lines = [
            "# Scoring benchmark (`make bench`)",
            "",
            f"Machine: {self.machine}. Benchmark run: {self.seconds:.0f} s.",
            "",
            "| | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for n in sorted(self.latency):
            cells = [f"{self.p50(n, x):.1f} / {percentile(self.latency[n][x], 95):.1f} ms" for x in names]
            lines.append(f"| {n}-row p50 / p95 | " + " | ".join(cells) + " |")
        for workers in (1, 2):
            cells = [f"{self.rps[x, workers]:.0f} rps" if (x, workers) in self.rps else "" for x in names]
            lines.append(
                f"| 1-row throughput, {CLIENTS} clients, {workers} worker(s) | " + " | ".join(cells) + " |"
            )
        lines += ["", "Split: " + ", ".join(f"{k} {v:.2f}%" for k, v in self.split.live.items())]
        lines[-1] += f"; mirrored {self.split.mirrored:.2f}% (of {self.split.requests} live requests)."
        if self.starts is not None:
            lines += [
                "",
                f"Start times (median of {self.starts.runs}, the environment cached, a new instance pool): "
                f"deployment start to first scored request {self.starts.cold:.2f} s with the ready process "
                f"started by the deployment, {self.starts.warmed:.2f} s with it warmed when the pool "
                "started; "
                f"first build into an empty environment cache {self.starts.first_build:.2f} s.",
            ]
        if self.demo is not None:
            lines += [
                "",
                "scripts/demo.sh: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.demo.steps.items()) + ".",
            ]
            if self.demo.failure:
                lines += ["", "The demo failed:", "", "```", self.demo.failure, "```"]
        lines += ["", "## Goals", ""] + [f"- {goal.line()}" for goal in self.goals()]
        lines += ["", "## Beside mlflow models serve", ""] + [f"- {line}" for line in self.beside_mlflow()]
        return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):  # no /proc: the platform's name stands
        names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = names[0] if names else cpu
    return (
        f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"{platform.system()} {platform.release()} ({platform.machine()}); load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )


def notes(previous: str) -> str:
    """The hand-written analysis below the measured part of RESULTS.md, kept across runs."""
    _, mark, rest = previous.partition(NOTES_MARK)
    return mark + rest if mark else NOTES_MARK + "\n(profile the scoring path and describe it here)\n"


def write(report: Report, output: Path) -> None:
    """Print the report and write it to `output`, keeping the notes below its measured part."""
    text = report.markdown()
    print()
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    previous = output.read_text() if output.exists() else ""
    output.write_text(text + notes(previous))
    print(f"wrote {output}")
