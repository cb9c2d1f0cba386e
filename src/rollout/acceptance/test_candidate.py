"""The pre-promotion acceptance suite: what must hold before a candidate takes traffic.

`rollout release` and the release workflow run it (`rollout acceptance`) against the candidate,
called directly by header. Replies are checked against the plan's output contract.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from rollout.acceptance.malformed import malformed_cases
from rollout.acceptance.request_schema import RequestSchema
from rollout.project.layout import sample_files
from rollout.project.output_contract import OutputContract, agreeing_rows, reply_problems, worst_rows
from rollout.project.schema import drift, model_schema

pytestmark = pytest.mark.acceptance

LATENCY_CALLS = 40
MIN_PROBE_ROWS = 50
MALFORMED = [
    "no input_data",
    "not JSON",
    "empty data",
    "extra column",
    "oversized body",
    "missing column",
    "text in numeric column",
    "unknown value",
]


def test_samples_validate_against_the_schema(samples_schema: RequestSchema, project_root: Path) -> None:
    validator = jsonschema.Draft202012Validator(samples_schema.schema)
    for path in sample_files(project_root):
        errors = [e.message for e in validator.iter_errors(json.loads(path.read_text()))]
        assert errors == [], (
            f"{path.name} against the request schema of {samples_schema.source}: {errors[:5]}"
        )


def test_schema_matches_the_candidates_model(schema: dict, release_under_test, candidate_mlmodel) -> None:
    assert drift(schema, model_schema(candidate_mlmodel), release_under_test.candidate_model) == []


def test_candidate_scores_every_sample(
    sample_file: Path, release_under_test, output_contract: OutputContract
) -> None:
    request = json.loads(sample_file.read_text())
    reply = release_under_test.client.score(request, deployment=release_under_test.candidate)
    assert reply.status == 200, reply.text[:500]
    assert reply.deployment == release_under_test.candidate
    rows = len(request["input_data"]["data"])
    assert reply_problems(reply.body, rows, output_contract) == [], (
        f"output contract: {output_contract.describe()}"
    )


def test_candidate_agrees_with_live(release_under_test, probe_request: dict | None, output_contract) -> None:
    if release_under_test.live is None:  # a first release: not applicable, and not a pass either
        pytest.skip("not applicable: no live deployment to compare with (a first release)")
    if probe_request is None:
        pytest.skip("not applicable: the project has no samples/probe.json")
    assert release_under_test.live != release_under_test.candidate, (
        "the candidate cannot be compared with itself"
    )
    rows = len(probe_request["input_data"]["data"])
    assert rows >= MIN_PROBE_ROWS, (
        f"samples/probe.json has {rows} rows; agreement needs at least {MIN_PROBE_ROWS}"
    )
    client = release_under_test.client
    candidate = client.score(probe_request, deployment=release_under_test.candidate)
    live = client.score(probe_request, deployment=release_under_test.live)
    assert candidate.status == live.status == 200
    share = agreeing_rows(candidate.body, live.body, output_contract) / rows
    # the rows that disagree most: their index and both answers, never their inputs
    worst = "; ".join(d.describe() for d in worst_rows(candidate.body, live.body, output_contract))
    assert share >= release_under_test.plan.analysis.min_agreement, (
        f"agreement {share:.2%} over {rows} probe rows ({output_contract.describe()}); "
        f"rows that disagree most: {worst}"
    )


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_requests_are_refused_or_kept_within_the_contract(
    case: str, release_under_test, schema: dict, sample_request: dict, output_contract: OutputContract
) -> None:
    found = [c for c in malformed_cases(schema, sample_request) if c.name.startswith(case)]
    if not found:
        pytest.skip(f"not applicable: the request schema has no column for {case!r}")
    malformed = found[0]
    reply = release_under_test.client.score(malformed.body, deployment=release_under_test.candidate)
    what = f"{malformed.name}: {reply.status} {reply.text[:200]}"
    assert reply.status < 500, what
    assert reply.status not in (401, 404), f"{what}: the request never reached the candidate"
    if malformed.expect == "refused" or reply.status != 200:
        assert 400 <= reply.status < 500, what
        assert reply.text.strip(), f"{malformed.name}: no message"
    else:
        assert reply_problems(reply.body, malformed.rows, output_contract) == [], what


def test_p95_latency_is_under_the_plan_limit(release_under_test, sample_request: dict) -> None:
    client, candidate = release_under_test.client, release_under_test.candidate
    times = []
    for _ in range(LATENCY_CALLS):
        reply = client.score(sample_request, deployment=candidate)
        assert reply.status == 200
        times.append(reply.elapsed_ms)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    assert p95 < release_under_test.plan.analysis.max_p95_latency_ms
