"""The pre-promotion acceptance suite: run against a candidate deployment before it takes traffic.

`rollout release` and the release workflow run this same suite. Without `--endpoint` it provisions
its own local release on a private emulator (live blue, candidate green), so `make test` checks it.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from rollout.project.schema import drift, load_model_metadata, model_schema

pytestmark = pytest.mark.acceptance

SAMPLES = sorted(
    p for p in (Path(__file__).parents[2] / "samples").glob("*.json") if not p.name.endswith(".schema.json")
)
LATENCY_CALLS = 40


def test_samples_validate_against_the_schema(schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    for path in SAMPLES:
        errors = [e.message for e in validator.iter_errors(json.loads(path.read_text()))]
        assert errors == [], f"{path.name}: {errors}"


def test_schema_matches_the_candidates_model(schema: dict, release_under_test) -> None:
    reference = release_under_test.candidate_model
    name, version = reference.split(":")
    derived = model_schema(load_model_metadata(f"models:/{name}/{version}", release_under_test.registry_uri))
    assert drift(schema, derived, reference) == []


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_candidate_scores_every_sample(sample: Path, release_under_test) -> None:
    request = json.loads(sample.read_text())
    reply = release_under_test.client.score(request, deployment=release_under_test.candidate)
    assert reply.status == 200, reply.text
    assert reply.deployment == release_under_test.candidate
    assert isinstance(reply.body, list)
    assert len(reply.body) == len(request["input_data"]["data"])
    assert set(reply.body) <= {0, 1}


def test_candidate_agrees_with_live(release_under_test, probe_request: dict) -> None:
    if release_under_test.live is None:  # a first release: not applicable, and not a pass either
        pytest.skip("not applicable: no live deployment to compare with (a first release)")
    assert release_under_test.live != release_under_test.candidate, (
        "the candidate cannot be compared with itself"
    )
    rows = probe_request["input_data"]["data"]
    assert len(rows) >= 50
    client = release_under_test.client
    candidate = client.score(probe_request, deployment=release_under_test.candidate)
    live = client.score(probe_request, deployment=release_under_test.live)
    assert candidate.status == live.status == 200
    agreeing = sum(1 for a, b in zip(candidate.body, live.body, strict=True) if a == b)
    assert agreeing / len(rows) >= release_under_test.plan.analysis.min_agreement


def _malformed(sample: dict) -> dict[str, bytes]:
    columns, row = sample["input_data"]["columns"], sample["input_data"]["data"][0]
    wrong_type = list(row)
    wrong_type[columns.index("age")] = "forty-eight"
    unknown = list(row)
    unknown[columns.index("thal")] = "unknown-category"

    def body(value: object) -> bytes:
        return json.dumps(value).encode()

    return {
        "no input_data": body({"data": [row]}),
        "missing column": body({"input_data": {"columns": columns[:-1], "data": [row[:-1]]}}),
        "wrong type": body({"input_data": {"columns": columns, "data": [wrong_type]}}),
        "unknown category": body({"input_data": {"columns": columns, "data": [unknown]}}),
        "empty data": body({"input_data": {"columns": columns, "data": []}}),
        "not json": b"{input_data",
        "oversized body": body({"input_data": {"columns": columns, "data": [row] * 400_000}}),
    }


MALFORMED = [
    "no input_data",
    "missing column",
    "wrong type",
    "unknown category",
    "empty data",
    "not json",
    "oversized body",
]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_requests_get_a_4xx_with_a_message(
    case: str, release_under_test, sample_request: dict
) -> None:
    reply = release_under_test.client.score(
        _malformed(sample_request)[case], deployment=release_under_test.candidate
    )
    assert 400 <= reply.status < 500, f"{case}: {reply.status} {reply.text[:200]}"
    assert reply.status not in (401, 404), f"{case}: {reply.status}: the request never reached the candidate"
    assert reply.text.strip(), f"{case}: no message"


def test_p95_latency_is_under_the_plan_limit(release_under_test, sample_request: dict) -> None:
    client, candidate = release_under_test.client, release_under_test.candidate
    times = []
    for _ in range(LATENCY_CALLS):
        reply = client.score(sample_request, deployment=candidate)
        assert reply.status == 200
        times.append(reply.elapsed_ms)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    assert p95 < release_under_test.plan.analysis.max_p95_latency_ms
