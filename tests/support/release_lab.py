"""The release lab: a private registry with the demo model's versions and faulty ones, an emulator,
and project copies with an endpoint of each test's own."""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from labs import Lab
from rollout.azureml.lease_lock import Holder, LeaseLock
from rollout.release.steps import Release

REPO = Path(__file__).resolve().parents[2]
MODEL = "heart-classifier"
# versions registered in the lab's registry, in this order
VERSIONS = {
    "v1": 1,
    "v2": 2,
    "v3": 3,
    "broken": 4,
    "flaky": 5,
    "slow": 6,
    "off-label": 7,
    "missing": 8,
    "contrary": 9,
}
# what each version is: the demo model (variant, seed), or the faulty wrapper (mode, delay)
DEMO = {"v1": (1, 0), "v2": (2, 0), "v3": (1, 1)}
SLOW_SECONDS = 1.5  # how long the slow version takes a request: over FAST_PLAN's limit on any machine
FAULTY = {
    "broken": ("broken",),
    "flaky": ("flaky",),
    "slow": ("slow", SLOW_SECONDS),
    "off-label": ("off-label",),
    "contrary": ("contrary",),
}
# the demo model (variant 1) whose requirements leave out a package it imports
MISSING = {"missing": "xgboost"}
# Short bakes, and limits that tell a healthy candidate from a faulty one on any machine: a
# healthy model answers in milliseconds (some hundreds on busy shared cores), the slow one in
# SLOW_SECONDS, the broken one never. The ratio of two p95s of a few milliseconds swings with how
# busy the cores are, so no ratio decides here (the ratio rule is tested on synthetic windows, in
# tests/unit/release). At PROBE_RPS each deployment gets some 20 requests a bake.
PROBE_RPS = 20
FAST_PLAN = {
    # the shortest lease Azure Storage gives: a killed holder's lock runs out in 15 s
    "lock": {"lease": "15s"},
    "stages": [
        {"name": "canary", "traffic": 10, "bake": "2s", "environment": "canary"},
        {"name": "half", "traffic": 50, "bake": "2s", "environment": "production-half"},
        {"name": "full", "traffic": 100, "bake": "2s", "environment": "production"},
    ],
    "analysis": {
        "min_requests": 10,
        "max_error_rate": 0.01,
        "confidence": 0.95,
        "max_p95_latency_ms": 1000,
        "max_latency_ratio": 100,
        "min_agreement": 0.9,
    },
}


def endpoint_for(test: str, nodeid: str) -> str:
    """An endpoint name of a test's own (3 to 32 characters: letters, digits and dashes)."""
    readable = "".join(c if c.isalnum() else "-" for c in test.lower())[:20].strip("-")
    return f"ep-{readable}-{hashlib.sha1(nodeid.encode()).hexdigest()[:6]}"


def make_project(root: Path, endpoint: str, plan: dict | None = None) -> Path:
    """A copy of the shipped project whose endpoint is `endpoint`, with plan overrides."""
    shutil.copytree(REPO / "samples", root / "samples")
    shutil.copytree(REPO / "endpoints", root / "endpoints")
    shutil.copytree(REPO / "deployments", root / "deployments")
    endpoint_file = root / "endpoints" / "heart-classifier.yml"
    spec = yaml.safe_load(endpoint_file.read_text())
    spec["name"] = endpoint
    endpoint_file.write_text(yaml.safe_dump(spec))
    for slot in ("blue", "green"):
        path = root / "deployments" / f"{slot}.yml"
        spec = yaml.safe_load(path.read_text())
        spec["endpoint_name"] = endpoint
        # Room for the probe and user load while other tests share the runner's two cores: queued
        # requests are then slow rather than refused (429), and latency is what analysis judges.
        spec["request_settings"]["max_concurrent_requests_per_instance"] = 16
        path.write_text(yaml.safe_dump(spec))
    plan_file = root / "deployments" / "release.yml"
    release_plan = yaml.safe_load(plan_file.read_text())
    release_plan.update(plan or FAST_PLAN)
    plan_file.write_text(yaml.safe_dump(release_plan, sort_keys=False))
    return root


def lock_holder(rel: Release) -> Holder | None:
    """Who holds the release lock of the release's endpoint (None: it is free)."""
    return LeaseLock.open(rel.conn.target, rel.endpoint_name).holder()


def serving_v1(lab: Lab, project: Path) -> Release:
    """The project's endpoint with blue serving version 1 and all traffic, no release in progress."""
    from rollout.azureml.endpoints import set_traffic
    from rollout.project.loading import load_project

    rel = Release(lab.connection(), load_project(project))
    rel.deploy(version=VERSIONS["v1"])
    set_traffic(rel.conn.ml, rel.endpoint_name, {"blue": 100})
    rel.retire()
    return rel


@contextmanager
def user_traffic(rel: Release, every: float = 0.05) -> Iterator[list[tuple[int, str | None]]]:
    """The article's request, sent by a user to the endpoint (no deployment header) every `every`
    seconds while the block runs; each reply's status and serving deployment."""
    request = (REPO / "samples" / "sample.json").read_text()
    replies: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def run() -> None:
        with rel.conn.scoring(rel.endpoint_name) as client:
            while not stop.is_set():
                reply = client.score(request)
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
    """Every request the live deployment answered was a 200 (and it answered some)."""
    by_live = Counter(status for status, deployment in replies if deployment == live)
    assert by_live and set(by_live) == {200}, Counter(replies)
