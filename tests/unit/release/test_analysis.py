"""Canary analysis: quantiles from histograms, the error test, latency bounds, verdicts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rollout.azureml.metrics_sources import WindowStats, quantile
from rollout.project.output_contract import Disagreement
from rollout.release.analysis import Agreement, error_p_value, judge


@dataclass
class Limits:
    min_requests: int = 100
    max_error_rate: float = 0.01
    confidence: float = 0.95
    max_p95_latency_ms: float = 500
    max_latency_ratio: float = 1.5
    min_agreement: float = 0.9
    max_mean_shift: float = 0.25
    max_spread_ratio: float = 1.5


def stats(ok: int, errors: int = 0, latency_ms: float = 10.0, client_errors: int = 0) -> WindowStats:
    """All requests in the bucket just above `latency_ms`."""
    total = ok + errors + client_errors
    edges = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, float("inf")]
    buckets = tuple((le, total if le >= latency_ms else 0) for le in edges)
    return WindowStats(ok=ok, client_errors=client_errors, errors=errors, latency_buckets=buckets)


def test_quantile_interpolates_inside_the_bucket() -> None:
    buckets = ((10.0, 50), (20.0, 100), (float("inf"), 100))
    assert quantile(buckets, 0.5) == pytest.approx(10.0)
    assert quantile(buckets, 0.95) == pytest.approx(19.0)
    assert quantile((), 0.95) is None
    assert quantile(((10.0, 0), (float("inf"), 0)), 0.95) is None


def test_window_is_the_difference_of_two_snapshots() -> None:
    earlier = WindowStats(ok=10, errors=1, latency_buckets=((10.0, 5), (float("inf"), 11)))
    later = WindowStats(ok=30, errors=4, latency_buckets=((10.0, 20), (float("inf"), 34)))
    window = later.minus(earlier)
    assert (window.ok, window.errors, window.requests) == (20, 3, 23)
    assert window.latency_buckets == ((10.0, 15), (float("inf"), 23))


def test_healthy_candidate_passes_with_the_numbers_named() -> None:
    verdict = judge(stats(200), stats(1800), Agreement(60, 59), Limits())
    assert verdict.outcome == "pass"
    assert verdict.numbers["candidate_requests"] == 200
    assert verdict.numbers["agreement"] == pytest.approx(59 / 60, abs=1e-4)
    assert any("agreement" in reason for reason in verdict.reasons)


def test_errors_on_a_share_of_requests_fail() -> None:
    verdict = judge(stats(140, errors=60), stats(1800), None, Limits())
    assert verdict.outcome == "fail"
    assert "error rate 30.00% vs live 0.00%" in verdict.reasons[0]


def test_client_errors_are_not_the_candidates_fault() -> None:
    verdict = judge(stats(150, client_errors=50), stats(1800), None, Limits())
    assert verdict.outcome == "pass"


def test_a_single_error_is_not_significant() -> None:
    assert error_p_value(stats(199, errors=1), stats(1800)) > 0.05
    assert judge(stats(199, errors=1), stats(1800), None, Limits()).outcome == "pass"


def test_same_error_rate_as_live_passes() -> None:
    verdict = judge(stats(190, errors=10), stats(1710, errors=90), None, Limits())
    assert verdict.outcome == "pass"


def test_too_few_requests_is_inconclusive() -> None:
    verdict = judge(stats(20), stats(180), None, Limits())
    assert verdict.outcome == "inconclusive"
    assert verdict.reasons == ["only 20 candidate requests; at least 100 are needed"]


def test_errors_decide_even_with_few_requests() -> None:
    assert judge(stats(0, errors=20), stats(180), None, Limits()).outcome == "fail"


def test_slow_candidate_fails_on_the_latency_ratio() -> None:
    verdict = judge(stats(200, latency_ms=200), stats(1800, latency_ms=10), None, Limits())
    assert verdict.outcome == "fail"
    assert "x live's" in verdict.reasons[0]


def test_tiny_latencies_do_not_fail_on_ratio_alone() -> None:
    assert judge(stats(200, latency_ms=5), stats(1800, latency_ms=2), None, Limits()).outcome == "pass"


def test_absolute_p95_limit() -> None:
    verdict = judge(stats(200, latency_ms=1000), stats(1800, latency_ms=1000), None, Limits())
    assert verdict.outcome == "fail"
    assert "over the limit of 500 ms" in verdict.reasons[0]


def test_low_agreement_fails() -> None:
    verdict = judge(stats(200), stats(1800), Agreement(60, 30), Limits())
    assert verdict.outcome == "fail"
    assert verdict.reasons == ["agreement with live 50.00% over 60 probe rows is below 90.00%"]


def test_a_failed_agreement_names_its_rule_and_the_rows_that_disagree_most() -> None:
    worst = [Disagreement(7, 3.5, 1.0), Disagreement(2, None, 2.0)]
    agreement = Agreement(60, 30, rule="a number; agreement: within 0 or 5.00%", worst=worst)
    verdict = judge(stats(200), stats(1800), agreement, Limits())
    assert verdict.reasons == [
        "agreement with live 50.00% over 60 probe rows is below 90.00% "
        "(a number; agreement: within 0 or 5.00%)",
        "rows that disagree most: row 7: candidate 3.5, live 1.0; row 2: candidate None, live 2.0",
    ]


def test_first_release_without_live_is_judged_against_a_clean_baseline() -> None:
    assert judge(stats(200), WindowStats(), None, Limits()).outcome == "pass"
    assert judge(stats(100, errors=100), WindowStats(), None, Limits()).outcome == "fail"


def test_model_errors_timeouts_and_overload_are_the_deployments_fault() -> None:
    window = WindowStats.from_status_codes({200: 50, 400: 3, 401: 1, 408: 2, 424: 5, 429: 1, 502: 4})
    assert (window.ok, window.client_errors, window.errors) == (50, 4, 12)


def test_unmeasured_agreement_is_no_disagreement() -> None:
    down = Agreement(0, 0, unmeasured="green answered 503 to the probe rows")
    failing = judge(stats(140, errors=60), stats(1800), down, Limits())
    assert failing.outcome == "fail"
    assert not any("agreement" in reason for reason in failing.reasons), failing.reasons
    assert failing.notes == ["agreement not measured: green answered 503 to the probe rows"]
    assert failing.numbers["agreement"] is None
    # with nothing else against the candidate, a stage cannot pass on agreement it did not measure
    healthy = judge(stats(200), stats(1800), down, Limits())
    assert healthy.outcome == "inconclusive"
    assert "agreement with live could not be measured: green answered 503" in healthy.reasons[0]


def test_a_drifting_candidate_fails_with_a_reason_per_check_even_when_its_rows_agree() -> None:
    from rollout.project.answer_drift import Drift

    drift = Drift(
        breaches=6, first_breach="row 0: nan is not a finite number", mean_shift=0.5, spread_ratio=2.0
    )
    verdict = judge(stats(200), stats(1800), Agreement(60, 60, drift=drift), Limits())
    assert verdict.outcome == "fail"
    assert verdict.reasons == [
        "candidate answered 6 of 60 probe rows outside the output contract "
        "(row 0: nan is not a finite number)",
        "candidate's mean answer moved 0.50 standard deviations of live's answers (limit 0.25)",
        "candidate's answers spread 2.00x as wide as live's (limit 0.67x..1.5x)",
    ]
    assert verdict.numbers["mean_shift"] == 0.5 and verdict.numbers["contract_breaches"] == 6
    steady = Drift(mean_shift=0.1, spread_ratio=1.1)
    assert judge(stats(200), stats(1800), Agreement(60, 60, drift=steady), Limits()).outcome == "pass"
