"""A markdown summary of a JUnit XML report (pytest's `--junitxml`), for the job summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from rollout.core.errors import UserError

MAX_LISTED_PROBLEMS = 20


@dataclass
class JUnitTotals:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, test, first line)

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def read_report(path: Path) -> JUnitTotals:
    """Add up every test case of a JUnit XML report."""
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise UserError(f"JUnit report not found: {path}") from None
    except ET.ParseError as exc:
        raise UserError(f"JUnit report {path} is not valid XML: {exc}") from None
    totals = JUnitTotals()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    for suite in suites:
        totals.seconds += float(suite.get("time", 0) or 0)
        for case in suite.iter("testcase"):
            totals.tests += 1
            name = ".".join(part for part in (case.get("classname"), case.get("name")) if part)
            for kind in ("failure", "error", "skipped"):
                outcome = case.find(kind)
                if outcome is None:
                    continue
                if kind == "failure":
                    totals.failures += 1
                elif kind == "error":
                    totals.errors += 1
                else:
                    totals.skipped += 1
                if kind != "skipped":
                    message = (outcome.get("message") or outcome.text or "").strip().splitlines()
                    totals.problems.append((kind, name, message[0] if message else ""))
                break
    return totals


def to_markdown(totals: JUnitTotals, title: str = "Acceptance suite") -> str:
    """A table of the counts, then the failing tests with the first line of each message."""
    lines = [
        f"### {title}",
        "",
        "| tests | passed | failed | errors | skipped | time |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {totals.tests} | {totals.passed} | {totals.failures} | {totals.errors} | {totals.skipped} "
        f"| {totals.seconds:.1f} s |",
    ]
    if totals.problems:
        lines += ["", "| outcome | test | message |", "| --- | --- | --- |"]
        for kind, name, message in totals.problems[:MAX_LISTED_PROBLEMS]:
            escaped = message.replace("|", "\\|")
            lines.append(f"| {kind} | `{name}` | {escaped} |")
        if len(totals.problems) > MAX_LISTED_PROBLEMS:
            lines.append(f"\n{len(totals.problems) - MAX_LISTED_PROBLEMS} more not listed.")
    return "\n".join(lines) + "\n"
