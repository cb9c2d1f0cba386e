"""`percentile`: linear interpolation between the closest ranks, as the stdlib's inclusive quantiles."""

from __future__ import annotations

import statistics

import pytest

from rollout.core.stats import percentile


def test_percentile_interpolates():
    assert percentile([1.0], 95) == 1.0
    assert percentile([0.0, 100.0], 95) == pytest.approx(95.0)
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # the values need not be sorted
    assert (percentile([5.0, 1.0], 0), percentile([5.0, 1.0], 100)) == (1.0, 5.0)


def test_percentile_agrees_with_the_stdlibs_inclusive_quantiles():
    values = [float(v * v % 97) for v in range(1, 200)]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    for p in (50, 90, 95, 99):
        assert percentile(values, p) == pytest.approx(cuts[p - 1])


def test_no_values_have_no_percentile():
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
