"""One rehearsal lab for every workflow scenario: a registry, an emulator; an endpoint per scenario.

Registered once: the demo model's versions 1 and 2, and two faulty versions wrapping version 1
(`broken` raises on every request, `slow` answers after 1 s; see tests/release/models). Each
scenario creates its own endpoint (`rh-<scenario>`) on the shared emulator and rehearses a copy of
the project whose endpoint and workflows are renamed accordingly. Bakes are 10 s with 25 probe
requests a second (about 125 per deployment, over the plan's min_requests of 100).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rollout.github.act import RehearsalError, RunResult, find_act
from rollout.release.rehearsal_lab import Rehearsal, Scenario

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "release"))  # release_lab: the faulty models

RELEASE_JOBS = [
    "gate",
    "validate",
    "deploy",
    "acceptance",
    "stage-shadow",
    "stage-canary",
    "stage-half",
    "stage-full",
    "retire",
]
# versions in the lab's registry, in registration order
VERSIONS = {"v1": 1, "v2": 2, "broken": 3, "slow": 4}


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    from release_lab import register_faulty

    try:
        find_act()
    except RehearsalError as error:
        pytest.fail(str(error))
    began = time.monotonic()
    prepared = Rehearsal.prepare(REPO, tmp_path_factory.mktemp("rehearsal"), bake="10s", probe_rps=25)
    try:
        for mode in ("broken", "slow"):
            # 1 s a request: under the lab's 2 s p95 limit (acceptance passes), and more than the
            # lab's 2.5x live's p95 even when busy shared cores slow live down to 400 ms
            version = register_faulty(
                prepared.lab.registry_uri, prepared.lab.artifacts_dir, mode, delay_s=1.0
            )
            assert int(version) == VERSIONS[mode], (mode, version)
        print(f"rehearsal lab prepared in {time.monotonic() - began:.0f}s")
        yield prepared
    finally:
        prepared.close()


def explain(result: RunResult) -> str:
    failed = [job for job in result.jobs.values() if job.result == "failure"]
    return result.describe() + "".join(
        f"\n--- {job.job_id} ---\n{result.failure_log(job.job_id)}" for job in failed
    )


def timed(label: str, result: RunResult) -> None:
    jobs = ", ".join(f"{j.job_id} {j.result} {j.seconds:.0f}s" for j in result.jobs.values())
    print(f"{label}: act ran {result.seconds:.0f}s ({jobs})")


USER_REQUEST = (REPO / "samples" / "sample.json").read_text()


@contextmanager
def user_traffic(scenario: Scenario, every: float = 0.1) -> Iterator[list[tuple[int, str | None]]]:
    """A user's requests to the endpoint (no deployment header) for as long as the block runs."""
    replies: list[tuple[int, str | None]] = []
    stop = threading.Event()
    rel = scenario.release()

    def run() -> None:
        with rel.conn.scoring(rel.endpoint_name) as client:
            while not stop.is_set():
                reply = client.score(USER_REQUEST)
                replies.append((reply.status, reply.deployment))
                stop.wait(every)

    thread = threading.Thread(target=run, name="user-traffic", daemon=True)
    thread.start()
    try:
        yield replies
    finally:
        stop.set()
        thread.join(timeout=30)


def assert_live_lost_nothing(replies: list[tuple[int, str | None]], live: str = "blue") -> None:
    by_live = Counter(status for status, deployment in replies if deployment == live)
    assert by_live and set(by_live) == {200}, Counter(replies)
