"""Helpers of the workflow rehearsals (act runs of release.yml and rollback.yml on the lab).

The plan the rehearsals use is the shipped one with short bakes and the release lab's analysis
(tests/support/release_lab.py): limits that tell a healthy candidate from a faulty one on any
machine. The probe load gives each bake several times `min_requests`.
"""

from __future__ import annotations

from release_lab import FAST_PLAN
from rollout.rehearsal.act import RunResult

RELEASE_JOBS = [  # release.yml rendered for the rehearsal's stages: shadow and full
    "gate",
    "validate",
    "doctor",
    "deploy",
    "acceptance",
    "stage-shadow",
    "stage-full",
    "retire",
]
PROBE_RPS = 25  # a 2 s bake: some 25 requests for the candidate, copies or by header
ANALYSIS = FAST_PLAN["analysis"]


def explain(result: RunResult) -> str:
    failed = [job for job in result.jobs.values() if job.result == "failure"]
    return result.describe() + "".join(
        f"\n--- {job.job_id} ---\n{result.failure_log(job.job_id)}" for job in failed
    )


def timed(label: str, result: RunResult) -> None:
    jobs = ", ".join(f"{j.job_id} {j.result} {j.seconds:.0f}s" for j in result.jobs.values())
    print(f"{label}: act ran {result.seconds:.0f}s ({jobs})")
