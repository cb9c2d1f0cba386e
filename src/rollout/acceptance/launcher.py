"""Running the acceptance suite, which ships with the package (`rollout.acceptance`), against a
project's candidate: pytest in this process (its libraries are loaded already: a child process would
spend seconds importing them again), from the project's root, reaching the same target."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rollout.core import paths
from rollout.core.errors import UserError
from rollout.release.results import DeployResult
from rollout.release.steps import Release

SUITE_PACKAGE = "rollout.acceptance"
SUITE_PLUGIN = "rollout.acceptance.plugin"  # the suite's options and fixtures


@dataclass(frozen=True)
class SuiteSubject:
    """What the suite tests: a project's endpoint on a target, its candidate and live deployments."""

    project: Path
    target: str
    endpoint: str | None = None
    deployment: str | None = None
    live: str | None = None

    def command(self, extra: Sequence[str] = ()) -> list[str]:
        """pytest's arguments that run the packaged suite against this subject."""
        command = ["-p", SUITE_PLUGIN, "--pyargs", SUITE_PACKAGE]
        command += ["-p", "no:cacheprovider"]
        command += ["--project", str(Path(self.project).resolve()), "--target", self.target]
        for option, value in (
            ("--endpoint", self.endpoint),
            ("--deployment", self.deployment),
            ("--live", self.live),
        ):
            if value:
                command += [option, value]
        return [*command, *extra]


def run_suite(args: list[str], project: Path, env: dict[str, str] | None = None) -> int:
    """Run pytest with `args` from the project's root, with the caller's local state (`--path` from
    another folder reaches the same emulator and registry) and `env` set while it runs; pytest's
    exit code."""
    import pytest

    state = {paths.HOME_ENV: str(paths.home())}
    # this process imported pytest's plugins (anyio's) before pytest could rewrite their asserts
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    with contextlib.chdir(project), _environment({**state, **(env or {})}):
        return int(pytest.main([*quiet, *args]))


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """`values` in os.environ while the block runs, then what was there before."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_acceptance_suite(release: Release, deployed: DeployResult) -> None:
    """Run the suite against the candidate; when it fails, a UserError naming the first failing
    test and its first line (no traffic was moved)."""
    import tempfile

    candidate, live = deployed.candidate, deployed.live
    if candidate is None:
        return
    target = release.conn.target
    root = release.project.root
    with tempfile.TemporaryDirectory(prefix="rollout-acceptance-") as scratch:
        report = Path(scratch) / "junit.xml"
        command = SuiteSubject(
            root, target.name, endpoint=release.endpoint_name, deployment=candidate, live=live
        ).command(["-q", f"--junitxml={report}"])
        release.say(f"acceptance suite against {candidate}")
        # the suite finds the same workspace: options given as flags travel as environment variables
        if run_suite(command, root, target.child_environment()) != 0:
            raise UserError(f"{failure_cause(candidate, report)}; no traffic was moved")


def failure_cause(candidate: str, report: Path) -> str:
    """The suite's failure as one line: the first failing test of its JUnit report (without its
    module) and the first line of its message; no more than the deployment when there is no report."""
    from rollout.github.junit_summary import read_report

    problems = read_report(report).problems if report.is_file() else []
    cause = ""
    if problems:
        _kind, test, line = problems[0]
        named = re.search(r"test_\w+(\[.*\])?$", test)
        cause = f": {named[0] if named else test}" + (f": {line}" if line else "")
    return f"the acceptance suite failed against {candidate}{cause}"
